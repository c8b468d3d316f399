// The one async-worker of the addon: `run` on libuv's thread pool, `done`
// back on the main thread, settling a promise. A file handle it uses is
// pinned (a persistent reference and the handle's pending count) until the
// work is done; a close() meanwhile happens when the work ends. A failure
// of `run` rejects with the error factory's value for it.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <string>

#include "errors.h"
#include "file.h"

namespace h5n {

template <typename Result>
class Worker final : public Napi::AsyncWorker {
 public:
  using Run = std::function<Result()>;
  using Done = std::function<Napi::Value(Napi::Env, Result&)>;

  // Queues the work; `handle` (may be null) is the file it uses, `pin` its
  // JavaScript value, `file` the path a failure concerns.
  static Napi::Value Queue(Napi::Env env, FileHandle* handle, Napi::Value pin, std::string file, Run run, Done done) {
    auto* worker = new Worker(env, handle, pin, std::move(file), std::move(run), std::move(done));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Napi::AsyncWorker::Queue();
    return promise;
  }

 private:
  Worker(Napi::Env env, FileHandle* handle, Napi::Value pin, std::string file, Run run, Done done)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        handle_(handle),
        file_(std::move(file)),
        run_(std::move(run)),
        done_(std::move(done)) {
    if (handle_) {
      pin_ = Napi::Persistent(pin);
      beginOperation(handle_);
    }
  }

  void Execute() override {
    quiet();
    failure_ = capture(
        [&] {
          if (handle_ && handle_->fid < 0) fail("ECLOSED", "the file handle is closed");
          result_ = run_();
        },
        file_);
    // Done with the file: a close() that arrived meanwhile happens here.
    if (handle_) endOperation(handle_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!pin_.IsEmpty()) pin_.Reset();
    try {
      if (failure_) deferred_.Reject(toJs(env, *failure_));
      else deferred_.Resolve(done_(env, result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  Napi::Promise::Deferred deferred_;
  FileHandle* handle_;
  Napi::Reference<Napi::Value> pin_;
  std::string file_;
  Run run_;
  Done done_;
  Result result_{};
  std::unique_ptr<Failure> failure_;
};

}  // namespace h5n
