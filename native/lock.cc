// Advisory file locks compatible with libhdf5's own (BSD flock), with a
// short-poll wait and a writer-intent marker so that readers can let a
// waiting writer in. A held lock lends its descriptor to TypeScript, which
// reads the file through it while the lock keeps writers out.
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

#include "binding.h"
#include "errors.h"
#include "worker.h"

namespace h5n {

namespace {

// One byte far beyond any real file's end: a writer holds an OFD write lock
// on it while it waits for and holds the file, which readers can test for.
// OFD (byte-range) locks and flock locks do not interact on Linux.
constexpr off_t kIntentOffset = static_cast<off_t>(0x7FFFFFFFFFFFFF00LL);

const napi_type_tag kLockTag = {0x6f6666737065636bULL, 0x6c6f636b68616e64ULL};

struct Lock {
  int fd = -1;
  std::string path;
  // The file's stamp a reader's session was opened on (lockExpect): device,
  // inode, size, modification and change times in ns; lockHoldSame compares
  // the path's stamp with it.
  bool expecting = false;
  int64_t stamp[5] = {0, 0, 0, 0, 0};
};

struct flock intentRange(short type) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = kIntentOffset;
  fl.l_len = 1;
  return fl;
}

void releaseLock(Lock* lock) {
  if (lock->fd >= 0) {
    flock(lock->fd, LOCK_UN);
    close(lock->fd);  // also drops the intent lock
    lock->fd = -1;
  }
}

// Whether `fd` is still the file at `path`: a writer may have replaced the
// file (renamed a new one over it) while we waited for its lock.
bool stillAt(int fd, const std::string& path) {
  struct stat held, now;
  if (fstat(fd, &held) != 0) return true;
  if (stat(path.c_str(), &now) != 0) return errno != ENOENT;
  return held.st_ino == now.st_ino && held.st_dev == now.st_dev;
}

// Takes the lock, polling flock(LOCK_NB) every 20..200 µs until it succeeds
// or the time is up (then EBUSY). With `announce`, marks the writer's intent
// first (the descriptor is then read-write, else read-only). A lock taken on
// a file that was replaced meanwhile is let go and the new file's taken
// instead. Any thread.
int acquire(const std::string& path, bool exclusive, double timeoutMs, bool announce) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<long long>(timeoutMs * 1000));
  for (;;) {
    // O_NONBLOCK: a FIFO in place of the file must not stop us here (its check refuses it); regular files ignore it.
    int fd = open(path.c_str(), (announce ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      int err = errno;
      failSystem(err, "open", "cannot open " + path + " to lock it: " + strerror(err));
    }
    if (announce) {
      struct flock fl = intentRange(F_WRLCK);
      fcntl(fd, F_OFD_SETLK, &fl);  // another writer may be announcing too; we still wait our turn
    }
    long pause = 20;
    for (;;) {
      if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) break;
      int err = errno;
      bool busy = err == EWOULDBLOCK || err == EINTR;
      if (!busy || std::chrono::steady_clock::now() >= deadline) {
        close(fd);
        if (busy) failSystem(EBUSY, "flock", "cannot lock " + path + ": another process holds it");
        failSystem(err, "flock", "cannot lock " + path + ": " + strerror(err));
      }
      struct timespec ts = {0, pause * 1000};
      nanosleep(&ts, nullptr);
      pause = pause < 200 ? pause * 2 : 200;
    }
    if (stillAt(fd, path)) return fd;
    close(fd);
    if (std::chrono::steady_clock::now() >= deadline) failSystem(EBUSY, "flock", "cannot lock " + path + ": it was replaced while we waited");
  }
}

Napi::Value wrapLock(Napi::Env env, const std::string& path, int fd) {
  auto external = Napi::External<Lock>::New(env, new Lock{fd, path}, [](Napi::Env, Lock* l) {
    releaseLock(l);
    delete l;
  });
  external.TypeTag(&kLockTag);
  return external;
}

Lock* lockArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal() || !info[0].As<Napi::External<void>>().CheckTypeTag(&kLockTag)) {
    throw Napi::TypeError::New(info.Env(), "expected a lock handle");
  }
  return info[0].As<Napi::External<Lock>>().Data();
}

Lock* heldArg(const Napi::CallbackInfo& info);

struct LockArgs {
  std::string path;
  bool exclusive;
  double timeout;
  bool announce;
};

LockArgs lockArgs(const Napi::CallbackInfo& info) {
  LockArgs a{stringArg(info, 0, "path"), boolArg(info, 1, "exclusive"), numberArg(info, 2, "timeoutMs"),
             boolArg(info, 3, "announce")};
  if (!(a.timeout >= 0) || a.timeout > 1e9) throw Napi::RangeError::New(info.Env(), "timeoutMs must be 0 to 1e9");
  return a;
}

// lockAcquire(path, exclusive, timeoutMs, announce) -> lock (errno EBUSY on timeout)
Napi::Value LockAcquire(const Napi::CallbackInfo& info) {
  LockArgs a = lockArgs(info);
  int fd = guard(info.Env(), a.path, [&] { return acquire(a.path, a.exclusive, a.timeout, a.announce); });
  return wrapLock(info.Env(), a.path, fd);
}

// lockAcquireAsync(...) -> Promise<lock>: the same wait, on the thread pool
Napi::Value LockAcquireAsync(const Napi::CallbackInfo& info) {
  LockArgs a = lockArgs(info);
  return Worker<int>::Queue(
      info.Env(), nullptr, info.Env().Undefined(), a.path, [=] { return acquire(a.path, a.exclusive, a.timeout, a.announce); },
      [path = a.path](Napi::Env env, int& fd) { return wrapLock(env, path, fd); });
}

// lockRelease(lock): idempotent
Napi::Value LockRelease(const Napi::CallbackInfo& info) {
  releaseLock(lockArg(info));
  return info.Env().Undefined();
}

// lockFd(lock) -> the descriptor the lock holds (ERELEASED once released)
Napi::Value LockFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), heldArg(info)->fd);
}

Lock* heldArg(const Napi::CallbackInfo& info) {
  Lock* lock = lockArg(info);
  if (lock->fd < 0) guard(info.Env(), lock->path, [] { fail("ERELEASED", "the lock is released"); });
  return lock;
}

// lockLetGo(lock): unlocks (flock LOCK_UN), keeping the descriptor open for a later lockHold
Napi::Value LockLetGo(const Napi::CallbackInfo& info) {
  flock(heldArg(info)->fd, LOCK_UN);
  return info.Env().Undefined();
}

// lockHold(lock, exclusive, timeoutMs): locks the held descriptor again, polling as lockAcquire does (errno EBUSY on timeout)
Napi::Value LockHold(const Napi::CallbackInfo& info) {
  Lock* lock = heldArg(info);
  bool exclusive = boolArg(info, 1, "exclusive");
  double timeout = numberArg(info, 2, "timeoutMs");
  if (!(timeout >= 0) || timeout > 1e9) throw Napi::RangeError::New(info.Env(), "timeoutMs must be 0 to 1e9");
  guard(info.Env(), lock->path, [&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<long long>(timeout * 1000));
    long pause = 20;
    for (;;) {
      if (flock(lock->fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return;
      int err = errno;
      bool busy = err == EWOULDBLOCK || err == EINTR;
      if (!busy || std::chrono::steady_clock::now() >= deadline) {
        if (busy) failSystem(EBUSY, "flock", "cannot lock " + lock->path + ": another process holds it");
        failSystem(err, "flock", "cannot lock " + lock->path + ": " + strerror(err));
      }
      struct timespec ts = {0, pause * 1000};
      nanosleep(&ts, nullptr);
      pause = pause < 200 ? pause * 2 : 200;
    }
  });
  return info.Env().Undefined();
}

bool intentMarked(int fd) {
  struct flock fl = intentRange(F_WRLCK);
  return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

// lockWriterWaiting(lock) -> writerWaiting for the file the lock's descriptor is open on
Napi::Value LockWriterWaiting(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), intentMarked(heldArg(info)->fd));
}

// writerWaiting(path) -> whether another open file description marks a writer's intent
Napi::Value WriterWaiting(const Napi::CallbackInfo& info) {
  std::string path = stringArg(info, 0, "path");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Napi::Boolean::New(info.Env(), false);
  bool waiting = intentMarked(fd);
  close(fd);
  return Napi::Boolean::New(info.Env(), waiting);
}

// lockExpect(lock, stamp: BigInt64Array [dev, ino, size, mtimeNs, ctimeNs]): the stamp lockHoldSame compares with
Napi::Value LockExpect(const Napi::CallbackInfo& info) {
  Lock* lock = heldArg(info);
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array ||
      info[1].As<Napi::TypedArray>().ElementLength() != 5) {
    throw Napi::TypeError::New(info.Env(), "stamp: expected a BigInt64Array of 5");
  }
  auto a = info[1].As<Napi::BigInt64Array>();
  for (size_t i = 0; i < 5; i++) lock->stamp[i] = a[i];
  lock->expecting = true;
  return info.Env().Undefined();
}

// lockHoldSame(lock) -> 0: the shared lock is taken again and the file at
// the path has the expected stamp; 1: taken, the stamp differs; 2: not
// taken (a writer of this library waits for or holds the file, or another
// process holds it: the caller waits the slow way); 3: taken, the path
// cannot be stat'ed (the caller finds out why). One call for what a
// reader's every call begins with: the writer test, the flock, the stat.
Napi::Value LockHoldSame(const Napi::CallbackInfo& info) {
  Lock* lock = heldArg(info);
  int status;
  if (intentMarked(lock->fd) || flock(lock->fd, LOCK_SH | LOCK_NB) != 0) {
    status = 2;
  } else {
    struct stat st;
    if (stat(lock->path.c_str(), &st) != 0) {
      status = 3;
    } else {
      int64_t now[5] = {static_cast<int64_t>(st.st_dev), static_cast<int64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
                        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec,
                        static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec};
      status = lock->expecting && memcmp(now, lock->stamp, sizeof now) == 0 ? 0 : 1;
    }
  }
  return Napi::Number::New(info.Env(), status);
}

}  // namespace

void RegisterLock(Napi::Env env, Napi::Object exports) {
  exports.Set("lockAcquire", Napi::Function::New(env, LockAcquire, "lockAcquire"));
  exports.Set("lockAcquireAsync", Napi::Function::New(env, LockAcquireAsync, "lockAcquireAsync"));
  exports.Set("lockRelease", Napi::Function::New(env, LockRelease, "lockRelease"));
  exports.Set("lockFd", Napi::Function::New(env, LockFd, "lockFd"));
  exports.Set("writerWaiting", Napi::Function::New(env, WriterWaiting, "writerWaiting"));
  exports.Set("lockLetGo", Napi::Function::New(env, LockLetGo, "lockLetGo"));
  exports.Set("lockHold", Napi::Function::New(env, LockHold, "lockHold"));
  exports.Set("lockWriterWaiting", Napi::Function::New(env, LockWriterWaiting, "lockWriterWaiting"));
  exports.Set("lockExpect", Napi::Function::New(env, LockExpect, "lockExpect"));
  exports.Set("lockHoldSame", Napi::Function::New(env, LockHoldSame, "lockHoldSame"));
}

}  // namespace h5n
