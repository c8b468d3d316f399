// Promise-returning counterparts of the binding's file operations, run on
// libuv's thread pool (node-addon-api AsyncWorker). libhdf5 is the
// thread-safe build and serialises its calls internally; each operation here
// works on a batch so that one queue hop amortises over many objects, while
// every single libhdf5 call stays short and the main thread is never blocked
// for long.
//
// A file handle used by an operation is pinned (persistent reference, pending
// count) until the operation completes; close() during that time is deferred
// to the completion. Data is read into memory allocated on the worker and
// handed to JavaScript as the Float64Array's external buffer, never copied.
#include "async.h"

#include <memory>

#include "binding_util.h"
#include "file.h"
#include "ops.h"

namespace h5n_async {

namespace {

using h5n::FileHandle;
using h5n::Hid;

// Base: pins the handle, turns h5n::Error into a rejected promise with the
// same `code`/`hdf5` properties the synchronous functions give.
class Op : public Napi::AsyncWorker {
 public:
  Op(Napi::Env env, Napi::Value handleValue, FileHandle* handle)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), handle_(handle) {
    if (handle_) {
      pin_ = Napi::Persistent(handleValue);
      h5n::beginOperation(handle_);
    }
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() final {
    h5n::quiet();
    failure_ = bind::captureFailure(
        [&] {
          if (handle_ && handle_->fid < 0) throw h5n::Error("ECLOSED", "the file handle is closed");
          Run();
        },
        "EHDF5");
    if (failure_) SetError(failure_->what());
    // Done with the file: a close() that arrived meanwhile happens here, on
    // this thread, so a synchronous call on the main thread waiting for the
    // file never waits for the main thread itself.
    if (handle_) h5n::endOperation(handle_);
  }

  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  void OnOK() final {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Value result;
    try {
      result = Result(env);
    } catch (const Napi::Error& e) {
      Unpin();
      deferred_.Reject(e.Value());
      return;
    }
    Unpin();
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) final {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Unpin();
    if (failure_) deferred_.Reject(bind::toJs(env, *failure_).Value());
    else deferred_.Reject(error.Value());
  }

  hid_t fid() const { return handle_->fid; }

 private:
  void Unpin() {
    handle_ = nullptr;
    if (!pin_.IsEmpty()) pin_.Reset();
  }

  Napi::Promise::Deferred deferred_;
  FileHandle* handle_;
  Napi::Reference<Napi::Value> pin_;
  std::unique_ptr<h5n::Error> failure_;
};

std::vector<std::string> pathsArg(const Napi::CallbackInfo& info, size_t i) {
  return bind::stringArrayArg(info, i, "paths");
}

// openAsync(path, mode, locking) -> Promise<handle>
class OpenOp : public Op {
 public:
  OpenOp(Napi::Env env, std::string path, int mode, bool locking)
      : Op(env, env.Undefined(), nullptr), path_(std::move(path)), mode_(mode), locking_(locking) {}
  void Run() override { opened_ = h5n::openFile(path_, static_cast<h5n::OpenMode>(mode_), locking_); }
  Napi::Value Result(Napi::Env env) override {
    try {
      return bind::wrapHandle(env, opened_);
    } catch (...) {
      h5n::closeFile(opened_);
      delete opened_;
      throw;
    }
  }

 private:
  std::string path_;
  int mode_;
  bool locking_;
  FileHandle* opened_ = nullptr;
};

// listAsync(handle, paths) -> Promise<[names[], kinds[]][]>
class ListOp : public Op {
 public:
  ListOp(Napi::Env env, Napi::Value h, FileHandle* handle, std::vector<std::string> paths)
      : Op(env, h, handle), paths_(std::move(paths)) {}
  void Run() override {
    for (const std::string& p : paths_) {
      std::vector<int> kinds;
      std::vector<std::string> names = h5n::listGroup(fid(), p, &kinds);
      names_.push_back(std::move(names));
      kinds_.push_back(std::move(kinds));
    }
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, paths_.size());
    for (uint32_t i = 0; i < paths_.size(); ++i) {
      Napi::Array names = Napi::Array::New(env, names_[i].size());
      Napi::Array kinds = Napi::Array::New(env, kinds_[i].size());
      for (uint32_t k = 0; k < names_[i].size(); ++k) {
        names.Set(k, Napi::String::New(env, names_[i][k]));
        kinds.Set(k, Napi::Number::New(env, kinds_[i][k]));
      }
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, names);
      pair.Set(1u, kinds);
      out.Set(i, pair);
    }
    return out;
  }

 private:
  std::vector<std::string> paths_;
  std::vector<std::vector<std::string>> names_;
  std::vector<std::vector<int>> kinds_;
};

// readAttrsAsync(handle, paths) -> Promise<string[]> (packed "name\0value\0")
class AttrsOp : public Op {
 public:
  AttrsOp(Napi::Env env, Napi::Value h, FileHandle* handle, std::vector<std::string> paths)
      : Op(env, h, handle), paths_(std::move(paths)) {}
  void Run() override {
    for (const std::string& p : paths_) {
      std::string packed;
      Hid obj = h5n::openObject(fid(), p);
      h5n::readStringAttrs(obj, p, packed);
      packed_.push_back(std::move(packed));
    }
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, packed_.size());
    for (uint32_t i = 0; i < packed_.size(); ++i) out.Set(i, Napi::String::New(env, packed_[i].data(), packed_[i].size()));
    return out;
  }

 private:
  std::vector<std::string> paths_;
  std::vector<std::string> packed_;
};

// readManyAsync(handle, paths, maxElements, withAttrs) -> Promise<[data, shape, packedAttrs][]>:
// one trip to the pool per batch. Each dataset is read into memory allocated
// here and handed to JavaScript as an external ArrayBuffer (no copy).
class ReadManyOp : public Op {
 public:
  ReadManyOp(Napi::Env env, Napi::Value h, FileHandle* handle, std::vector<std::string> paths, size_t maxElements, bool withAttrs)
      : Op(env, h, handle), paths_(std::move(paths)), max_(maxElements), withAttrs_(withAttrs) {}
  ~ReadManyOp() override {
    for (Item& item : items_) delete[] item.data;
  }
  void Run() override {
    items_.reserve(paths_.size());
    for (const std::string& p : paths_) {
      Hid dset(H5Dopen2(fid(), p.c_str(), H5P_DEFAULT), "cannot open dataset '" + p + "'");
      h5n::DataShape shape = h5n::numericShape(dset, p, max_);
      items_.push_back(Item{new double[shape.elements > 0 ? shape.elements : 1], shape.elements, shape.dims, {}});
      h5n::readFloat64(dset, p, items_.back().data, shape);
      if (withAttrs_) h5n::readStringAttrs(dset, p, items_.back().packed);
    }
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, items_.size());
    for (uint32_t i = 0; i < items_.size(); ++i) {
      Item& item = items_[i];
      Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
          env, item.data, item.elements * sizeof(double), [](Napi::Env, void* data) { delete[] static_cast<double*>(data); });
      item.data = nullptr;  // owned by the ArrayBuffer now
      Napi::Array triple = Napi::Array::New(env, 3);
      triple.Set(0u, Napi::Float64Array::New(env, item.elements, buffer, 0));
      triple.Set(1u, bind::shapeArray(env, item.dims));
      triple.Set(2u, Napi::String::New(env, item.packed.data(), item.packed.size()));
      out.Set(i, triple);
    }
    return out;
  }

 private:
  struct Item {
    double* data;
    size_t elements;
    std::vector<hsize_t> dims;
    std::string packed;
  };
  std::vector<std::string> paths_;
  size_t max_;
  bool withAttrs_;
  std::vector<Item> items_;
};

// writeAttrsAsync(handle, path, names, values) -> Promise<undefined>
class WriteAttrsOp : public Op {
 public:
  WriteAttrsOp(Napi::Env env, Napi::Value h, FileHandle* handle, std::string path,
               std::vector<std::pair<std::string, std::string>> attrs, bool flush)
      : Op(env, h, handle), path_(std::move(path)), attrs_(std::move(attrs)), flush_(flush) {}
  void Run() override {
    {
      Hid obj = h5n::openObject(fid(), path_);
      h5n::writeStringAttrs(obj, path_, attrs_);
    }
    if (flush_) h5n::check(H5Fflush(fid(), H5F_SCOPE_GLOBAL), "cannot flush file");
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string path_;
  std::vector<std::pair<std::string, std::string>> attrs_;
  bool flush_;
};

template <typename T, typename... Args>
Napi::Value queue(Napi::Env env, Args&&... args) {
  auto* op = new T(env, std::forward<Args>(args)...);
  Napi::Promise promise = op->Promise();
  op->Queue();
  return promise;
}

Napi::Value OpenAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = bind::stringArg(info, 0, "path");
  int mode = bind::intArg(info, 1, "mode");
  if (mode < 0 || mode > 3) throw Napi::RangeError::New(env, "mode must be 0..3");
  bool locking = info.Length() > 2 ? info[2].ToBoolean().Value() : true;
  return queue<OpenOp>(env, path, mode, locking);
}

Napi::Value ListAsync(const Napi::CallbackInfo& info) {
  FileHandle* handle = bind::handleArg(info, 0);
  return queue<ListOp>(info.Env(), info[0], handle, pathsArg(info, 1));
}

Napi::Value ReadAttrsAsync(const Napi::CallbackInfo& info) {
  FileHandle* handle = bind::handleArg(info, 0);
  return queue<AttrsOp>(info.Env(), info[0], handle, pathsArg(info, 1));
}

Napi::Value ReadManyAsync(const Napi::CallbackInfo& info) {
  FileHandle* handle = bind::handleArg(info, 0);
  std::vector<std::string> paths = pathsArg(info, 1);
  size_t maxElements = bind::sizeArg(info, 2, "maxElements");
  bool withAttrs = info.Length() > 3 && info[3].ToBoolean().Value();
  return queue<ReadManyOp>(info.Env(), info[0], handle, std::move(paths), maxElements, withAttrs);
}

Napi::Value WriteAttrsAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  auto names = bind::stringArrayArg(info, 2, "names");
  auto values = bind::stringArrayArg(info, 3, "values");
  bool flush = info.Length() > 4 && info[4].ToBoolean().Value();
  if (names.size() != values.size()) throw Napi::RangeError::New(env, "names and values differ in length");
  std::vector<std::pair<std::string, std::string>> attrs;
  for (size_t i = 0; i < names.size(); ++i) attrs.emplace_back(std::move(names[i]), std::move(values[i]));
  return queue<WriteAttrsOp>(env, info[0], handle, std::move(path), std::move(attrs), flush);
}

}  // namespace

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("openAsync", Napi::Function::New(env, OpenAsync, "openAsync"));
  exports.Set("listAsync", Napi::Function::New(env, ListAsync, "listAsync"));
  exports.Set("readAttrsAsync", Napi::Function::New(env, ReadAttrsAsync, "readAttrsAsync"));
  exports.Set("readManyAsync", Napi::Function::New(env, ReadManyAsync, "readManyAsync"));
  exports.Set("writeAttrsAsync", Napi::Function::New(env, WriteAttrsAsync, "writeAttrsAsync"));
}

}  // namespace h5n_async
