#include "file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <unordered_set>

#include "binding.h"
#include "errors.h"
#include "worker.h"

namespace h5n {

namespace {

const napi_type_tag kFileTag = {0x6f66667370656374ULL, 0x6864663566696c65ULL};

// Files still open, closed at environment teardown.
std::mutex registryMutex;
std::unordered_set<FileHandle*>& registry() {
  static auto* set = new std::unordered_set<FileHandle*>();
  return *set;
}

}  // namespace

FileHandle* openFile(const std::string& path, OpenMode mode, bool locking) {
  quiet();
  Hid fapl = own(H5Pcreate(H5P_FILE_ACCESS), "cannot create a file access property list");
  if (mode == OpenMode::Read || mode == OpenMode::ReadWrite) {
    check(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "cannot set format bounds");
  }
  if (mode == OpenMode::Read) {
    // In SWMR-read mode libhdf5 re-reads metadata whose checksum fails up to
    // 100 times, sleeping longer each time: on a damaged file one read would
    // take minutes. A few attempts still ride over a torn read.
    check(H5Pset_metadata_read_attempts(fapl, 8), "cannot set metadata read attempts");
  }
  check(H5Pset_file_locking(fapl, locking ? 1 : 0, 1), "cannot set file locking");
  errno = 0;
  hid_t fid = H5I_INVALID_HID;
  switch (mode) {
    case OpenMode::Read: fid = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl); break;
    case OpenMode::ReadWrite: fid = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl); break;
    case OpenMode::Create: fid = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl); break;
    case OpenMode::CreateNew: fid = H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl); break;
    case OpenMode::Amend: fid = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl); break;
  }
  if (fid < 0) throwStack(mode == OpenMode::Create || mode == OpenMode::CreateNew ? "cannot create file" : "cannot open file");
  // libhdf5 opens without O_CLOEXEC: a child process started while the file
  // is open would inherit the descriptor and with it the file lock.
  void* vfd = nullptr;
  if (H5Fget_vfd_handle(fid, H5P_DEFAULT, &vfd) >= 0 && vfd != nullptr) {
    int fd = *static_cast<int*>(vfd);
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  } else {
    H5Eclear2(H5E_DEFAULT);
  }
  auto* handle = new FileHandle();
  handle->fid = fid;
  handle->path = path;
  std::lock_guard<std::mutex> lock(registryMutex);
  registry().insert(handle);
  return handle;
}

namespace {

// The descriptor libhdf5 writes the file through (sec2 driver), or -1.
int vfdOf(hid_t fid) {
  void* vfd = nullptr;
  if (H5Fget_vfd_handle(fid, H5P_DEFAULT, &vfd) >= 0 && vfd != nullptr) return *static_cast<int*>(vfd);
  H5Eclear2(H5E_DEFAULT);
  return -1;
}

// Closes a file. libhdf5 1.10 cannot recover from a close whose writes
// fail (a full disk): the file stays half-destroyed, and closing it again,
// as its exit handler does, crashes. So the file is flushed first; when
// that fails, its descriptor is pointed at an anonymous file in memory,
// where the close's writes succeed and are dropped, and the flush's error
// is thrown. The file on disk keeps what was written before the failure:
// the caller reports it (a file this library writes through libhdf5 is a
// temporary one, removed then).
void closeReleasing(hid_t fid, const std::string& what) {
  if (H5Fflush(fid, H5F_SCOPE_LOCAL) >= 0) {
    check(H5Fclose(fid), what);
    return;
  }
  try {
    throwStack(what);
  } catch (...) {
    int fd = vfdOf(fid);
    if (fd >= 0) {
      int sink = static_cast<int>(syscall(SYS_memfd_create, "offspect-abandoned", MFD_CLOEXEC));
      if (sink >= 0) {
        dup3(sink, fd, O_CLOEXEC);
        close(sink);
      }
    }
    // libhdf5 1.10.8 (measured): after a failed flush, its close fails too and leaves the file
    // half-destroyed; a second flush (which fails, resetting the cache's flush state) lets the close
    // that follows succeed, with every write going to the memory file.
    H5Eclear2(H5E_DEFAULT);
    H5Fflush(fid, H5F_SCOPE_LOCAL);
    H5Eclear2(H5E_DEFAULT);
    H5Fclose(fid);
    H5Eclear2(H5E_DEFAULT);
    throw;
  }
}

}  // namespace

void closeFile(FileHandle* handle) {
  quiet();
  hid_t fid = handle->fid.exchange(H5I_INVALID_HID);
  if (fid < 0) return;
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    registry().erase(handle);
  }
  closeReleasing(fid, "cannot close file");
}

void beginOperation(FileHandle* handle) {
  std::lock_guard<std::mutex> lock(handle->mu);
  ++handle->pending;
}

void endOperation(FileHandle* handle) {
  bool close = false;
  {
    std::lock_guard<std::mutex> lock(handle->mu);
    close = --handle->pending == 0 && handle->closeWhenIdle;
  }
  if (close) capture([&] { closeFile(handle); }, handle->path);  // nobody is left to tell
}

Napi::Value wrapFile(Napi::Env env, FileHandle* handle) {
  auto external = Napi::External<FileHandle>::New(env, handle, [](Napi::Env, FileHandle* h) {
    // Garbage collection is the safety net for handles nobody closed; work
    // on the pool pins its handle, so none is running here.
    capture([&] { closeFile(h); }, h->path);
    delete h;
  });
  external.TypeTag(&kFileTag);
  return external;
}

namespace {

FileHandle* anyFileArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsExternal() || !info[i].As<Napi::External<void>>().CheckTypeTag(&kFileTag)) {
    throw Napi::TypeError::New(info.Env(), "expected a file handle");
  }
  return info[i].As<Napi::External<FileHandle>>().Data();
}

OpenMode modeArg(const Napi::CallbackInfo& info, size_t i) {
  double mode = numberArg(info, i, "mode");
  if (mode < 0 || mode > 4) throw Napi::RangeError::New(info.Env(), "mode must be 0 to 4");
  return static_cast<OpenMode>(static_cast<int>(mode));
}

// fileOpen(path, mode, locking) -> file handle
Napi::Value FileOpen(const Napi::CallbackInfo& info) {
  std::string path = stringArg(info, 0, "path");
  OpenMode mode = modeArg(info, 1);
  bool locking = boolArg(info, 2, "locking");
  return wrapFile(info.Env(), guard(info.Env(), path, [&] { return openFile(path, mode, locking); }));
}

// fileOpenAsync(path, mode, locking) -> Promise<file handle>
Napi::Value FileOpenAsync(const Napi::CallbackInfo& info) {
  std::string path = stringArg(info, 0, "path");
  OpenMode mode = modeArg(info, 1);
  bool locking = boolArg(info, 2, "locking");
  return Worker<FileHandle*>::Queue(
      info.Env(), nullptr, info.Env().Undefined(), path, [=] { return openFile(path, mode, locking); },
      [](Napi::Env env, FileHandle*& handle) { return wrapFile(env, handle); });
}

// fileClose(file): idempotent; deferred while work on the pool uses the file.
Napi::Value FileClose(const Napi::CallbackInfo& info) {
  FileHandle* handle = anyFileArg(info, 0);
  {
    std::lock_guard<std::mutex> lock(handle->mu);
    if (handle->pending > 0) {
      handle->closeWhenIdle = true;
      return info.Env().Undefined();
    }
  }
  guard(info.Env(), handle->path, [&] { closeFile(handle); });
  return info.Env().Undefined();
}

Napi::Value FileIsOpen(const Napi::CallbackInfo& info) {
  FileHandle* handle = anyFileArg(info, 0);
  std::lock_guard<std::mutex> lock(handle->mu);
  return Napi::Boolean::New(info.Env(), handle->fid >= 0 && !handle->closeWhenIdle);
}

Napi::Value FileFlush(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  guard(info.Env(), handle->path, [&] { check(H5Fflush(handle->fid, H5F_SCOPE_GLOBAL), "cannot flush file"); });
  return info.Env().Undefined();
}

// openObjectCount(): files and objects open in libhdf5 (for leak checks).
Napi::Value OpenObjectCount(const Napi::CallbackInfo& info) {
  quiet();
  ssize_t n = H5Fget_obj_count(static_cast<hid_t>(H5F_OBJ_ALL), H5F_OBJ_ALL);
  return Napi::Number::New(info.Env(), n < 0 ? -1.0 : static_cast<double>(n));
}

Napi::Value LibraryVersion(const Napi::CallbackInfo& info) {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return Napi::String::New(info.Env(),
                           std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release));
}

}  // namespace

FileHandle* fileArg(const Napi::CallbackInfo& info, size_t i) {
  FileHandle* handle = anyFileArg(info, i);
  bool closing;
  {
    std::lock_guard<std::mutex> lock(handle->mu);
    closing = handle->closeWhenIdle;
  }
  if (handle->fid < 0 || closing) {
    guard(info.Env(), handle->path, [] { fail("ECLOSED", "the file handle is closed"); });
  }
  return handle;
}

void RegisterFile(Napi::Env env, Napi::Object exports) {
  env.AddCleanupHook([] {
    std::unordered_set<FileHandle*> open;
    {
      std::lock_guard<std::mutex> lock(registryMutex);
      open.swap(registry());
    }
    for (FileHandle* handle : open) {
      hid_t fid = handle->fid.exchange(H5I_INVALID_HID);
      if (fid >= 0) capture([&] { closeReleasing(fid, "cannot close file"); }, handle->path);
    }
  });
  exports.Set("fileOpen", Napi::Function::New(env, FileOpen, "fileOpen"));
  exports.Set("fileOpenAsync", Napi::Function::New(env, FileOpenAsync, "fileOpenAsync"));
  exports.Set("fileClose", Napi::Function::New(env, FileClose, "fileClose"));
  exports.Set("fileIsOpen", Napi::Function::New(env, FileIsOpen, "fileIsOpen"));
  exports.Set("fileFlush", Napi::Function::New(env, FileFlush, "fileFlush"));
  exports.Set("openObjectCount", Napi::Function::New(env, OpenObjectCount, "openObjectCount"));
  exports.Set("libraryVersion", Napi::Function::New(env, LibraryVersion, "libraryVersion"));
}

}  // namespace h5n
