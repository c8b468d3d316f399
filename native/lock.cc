#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace h5n_lock {

namespace {

// One byte far beyond any real file's end: a writer holds an OFD write lock
// on it while it waits for and holds the file, which readers can test for.
// OFD (byte-range) locks and flock locks do not interact on Linux.
constexpr off_t kIntentOffset = static_cast<off_t>(0x7FFFFFFFFFFFFF00LL);

const napi_type_tag kLockTag = {0x6f6666737065636bULL, 0x6c6f636b68616e64ULL};

struct Lock {
  int fd = -1;
};

Napi::Error errnoError(Napi::Env env, const std::string& what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  const char* code = err == ENOENT     ? "ENOENT"
                     : err == EACCES || err == EPERM ? "EACCES"
                     : err == EROFS  ? "EROFS"
                     : err == EISDIR ? "EISDIR"
                                     : "EIO";
  e.Value().Set("code", Napi::String::New(env, code));
  return e;
}

bool setIntent(int fd) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kIntentOffset;
  fl.l_len = 1;
  return fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

void closeLock(Lock* lock) {
  if (lock->fd >= 0) {
    flock(lock->fd, LOCK_UN);
    close(lock->fd);  // also drops the intent lock
    lock->fd = -1;
  }
}

// Takes the lock, polling flock(LOCK_NB) every 20..200 µs until it succeeds
// or the time is up. Returns the descriptor, or -errno (-EBUSY on timeout).
// With `announce`, marks the writer's intent first. Runs on any thread.
int acquire(const std::string& path, bool exclusive, double timeoutMs, bool announce) {
  int fd = open(path.c_str(), (announce ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (announce) setIntent(fd);  // another writer may be announcing too; we still wait our turn
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<long long>(timeoutMs * 1000));
  long pause = 20;
  for (;;) {
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return fd;
    int err = errno;
    if ((err != EWOULDBLOCK && err != EINTR) || std::chrono::steady_clock::now() >= deadline) {
      close(fd);
      return err == EWOULDBLOCK || err == EINTR ? -EBUSY : -err;
    }
    struct timespec ts = {0, pause * 1000};
    nanosleep(&ts, nullptr);
    pause = pause < 200 ? pause * 2 : 200;
  }
}

Napi::Value wrapLock(Napi::Env env, const std::string& path, int fd) {
  if (fd == -EBUSY) {
    Napi::Error e = Napi::Error::New(env, "unable to lock file " + path + ": another process holds it");
    e.Value().Set("code", Napi::String::New(env, "EBUSY"));
    throw e;
  }
  if (fd < 0) throw errnoError(env, "cannot lock " + path, -fd);
  auto* lock = new Lock{fd};
  auto external = Napi::External<Lock>::New(env, lock, [](Napi::Env, Lock* l) {
    closeLock(l);
    delete l;
  });
  external.TypeTag(&kLockTag);
  return external;
}

struct LockArgs {
  std::string path;
  bool exclusive;
  double timeout;
  bool announce;
};

LockArgs lockArgs(const Napi::CallbackInfo& info) {
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsBoolean() || !info[2].IsNumber() || !info[3].IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), "expected (path, exclusive, timeoutMs, announce)");
  }
  return {info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Boolean>().Value(),
          info[2].As<Napi::Number>().DoubleValue(), info[3].As<Napi::Boolean>().Value()};
}

// lockAcquire(path, exclusive, timeoutMs, announce) -> lock handle (code EBUSY on timeout).
Napi::Value Acquire(const Napi::CallbackInfo& info) {
  LockArgs a = lockArgs(info);
  return wrapLock(info.Env(), a.path, acquire(a.path, a.exclusive, a.timeout, a.announce));
}

// lockAcquireAsync(...) -> Promise<lock handle>: the same wait, on the thread pool.
class AcquireOp : public Napi::AsyncWorker {
 public:
  AcquireOp(Napi::Env env, LockArgs args) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), args_(std::move(args)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { fd_ = acquire(args_.path, args_.exclusive, args_.timeout, args_.announce); }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    try {
      deferred_.Resolve(wrapLock(Env(), args_.path, fd_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  LockArgs args_;
  int fd_ = -1;
};

Napi::Value AcquireAsync(const Napi::CallbackInfo& info) {
  auto* op = new AcquireOp(info.Env(), lockArgs(info));
  Napi::Promise promise = op->Promise();
  op->Queue();
  return promise;
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal() || !info[0].As<Napi::External<void>>().CheckTypeTag(&kLockTag)) {
    throw Napi::TypeError::New(env, "expected a lock handle");
  }
  closeLock(info[0].As<Napi::External<Lock>>().Data());
  return env.Undefined();
}

Lock* lockArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal() || !info[0].As<Napi::External<void>>().CheckTypeTag(&kLockTag)) {
    throw Napi::TypeError::New(info.Env(), "expected a lock handle");
  }
  Lock* lock = info[0].As<Napi::External<Lock>>().Data();
  if (lock->fd < 0) throw Napi::Error::New(info.Env(), "the lock is released");
  return lock;
}

// lockFd(lock) -> the descriptor the lock holds (read the file through it).
Napi::Value Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), lockArg(info)->fd);
}

// lockLetGo(lock): lets go of the flock, keeping the descriptor open.
Napi::Value LetGo(const Napi::CallbackInfo& info) {
  flock(lockArg(info)->fd, LOCK_UN);
  return info.Env().Undefined();
}

// lockHold(lock, exclusive, timeoutMs): takes the flock again on the held descriptor,
// polling as lockAcquire does (code EBUSY on timeout).
Napi::Value Hold(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Lock* lock = lockArg(info);
  if (info.Length() < 3 || !info[1].IsBoolean() || !info[2].IsNumber()) throw Napi::TypeError::New(env, "expected (lock, exclusive, timeoutMs)");
  bool exclusive = info[1].As<Napi::Boolean>().Value();
  double timeoutMs = info[2].As<Napi::Number>().DoubleValue();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<long long>(timeoutMs * 1000));
  long pause = 20;
  for (;;) {
    if (flock(lock->fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return env.Undefined();
    int err = errno;
    if ((err != EWOULDBLOCK && err != EINTR) || std::chrono::steady_clock::now() >= deadline) {
      if (err == EWOULDBLOCK || err == EINTR) {
        Napi::Error e = Napi::Error::New(env, "unable to lock the file: another process holds it");
        e.Value().Set("code", Napi::String::New(env, "EBUSY"));
        throw e;
      }
      throw errnoError(env, "cannot lock the file", err);
    }
    struct timespec ts = {0, pause * 1000};
    nanosleep(&ts, nullptr);
    pause = pause < 200 ? pause * 2 : 200;
  }
}

// lockWriterWaiting(lock) -> whether another open file description marks a writer's intent on the file.
Napi::Value LockWriterWaiting(const Napi::CallbackInfo& info) {
  Lock* lock = lockArg(info);
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kIntentOffset;
  fl.l_len = 1;
  bool waiting = fcntl(lock->fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  return Napi::Boolean::New(info.Env(), waiting);
}

// writerWaiting(path) -> whether another open file description marks a writer's intent.
Napi::Value WriterWaiting(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "expected a path");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Napi::Boolean::New(env, false);
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kIntentOffset;
  fl.l_len = 1;
  bool waiting = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  close(fd);
  return Napi::Boolean::New(env, waiting);
}

}  // namespace

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("lockAcquire", Napi::Function::New(env, Acquire, "lockAcquire"));
  exports.Set("lockAcquireAsync", Napi::Function::New(env, AcquireAsync, "lockAcquireAsync"));
  exports.Set("lockRelease", Napi::Function::New(env, Release, "lockRelease"));
  exports.Set("writerWaiting", Napi::Function::New(env, WriterWaiting, "writerWaiting"));
  exports.Set("lockFd", Napi::Function::New(env, Fd, "lockFd"));
  exports.Set("lockLetGo", Napi::Function::New(env, LetGo, "lockLetGo"));
  exports.Set("lockHold", Napi::Function::New(env, Hold, "lockHold"));
  exports.Set("lockWriterWaiting", Napi::Function::New(env, LockWriterWaiting, "lockWriterWaiting"));
}

}  // namespace h5n_lock
