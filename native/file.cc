#include "file.h"

#include <fcntl.h>

#include <mutex>
#include <unordered_set>

#include "h5util.h"

namespace h5n {

namespace {

std::mutex registryMutex;
std::unordered_set<FileHandle*>& registry() {
  static auto* set = new std::unordered_set<FileHandle*>();
  return *set;
}

}  // namespace

FileHandle* openFile(const std::string& path, OpenMode mode, bool locking) {
  quiet();
  Hid fapl(H5Pcreate(H5P_FILE_ACCESS), "create file access property list");
  if (mode == OpenMode::Read || mode == OpenMode::ReadWrite) {
    check(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "set format bounds");
  }
  if (mode == OpenMode::Read) {
    // In SWMR-read mode libhdf5 re-reads metadata whose checksum fails up to
    // 100 times, sleeping longer each time (a writer may be mid-update): on a
    // damaged file one failing read then takes minutes. A few attempts still
    // ride over a torn read; a damaged file fails within a second.
    check(H5Pset_metadata_read_attempts(fapl, 8), "set metadata read attempts");
  }
  check(H5Pset_file_locking(fapl, locking ? 1 : 0, 1), "set file locking");

  hid_t fid = H5I_INVALID_HID;
  switch (mode) {
    case OpenMode::Read:
      fid = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
      break;
    case OpenMode::ReadWrite:
      fid = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl);
      break;
    case OpenMode::Create:
      fid = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
      break;
    case OpenMode::CreateNew:
      fid = H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl);
      break;
  }
  if (fid < 0) {
    throwStack(mode == OpenMode::Create || mode == OpenMode::CreateNew ? "cannot create file"
                                                                       : "cannot open file");
  }
  // libhdf5 opens without O_CLOEXEC: a child process started while the file
  // is open would inherit the descriptor and, with it, the file lock, keeping
  // the file locked for as long as the child lives. Close it on exec.
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
  handle->mode = mode;
  handle->path = path;
  std::lock_guard<std::mutex> lock(registryMutex);
  registry().insert(handle);
  return handle;
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
  if (close) {
    try {
      closeFile(handle);
    } catch (...) {
    }
  }
}

bool requestClose(FileHandle* handle) {
  {
    std::lock_guard<std::mutex> lock(handle->mu);
    if (handle->pending > 0) {
      handle->closeWhenIdle = true;
      return false;
    }
  }
  closeFile(handle);
  return true;
}

void closeFile(FileHandle* handle) {
  quiet();
  hid_t fid = handle->fid.exchange(H5I_INVALID_HID);
  if (fid < 0) return;
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    registry().erase(handle);
  }
  check(H5Fclose(fid), "cannot close file");
}

void closeAllFiles() {
  std::unordered_set<FileHandle*> open;
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    open.swap(registry());
  }
  for (FileHandle* handle : open) {
    hid_t fid = handle->fid.exchange(H5I_INVALID_HID);
    if (fid >= 0) H5Fclose(fid);
  }
}

long openObjectCount() {
  quiet();
  ssize_t n = H5Fget_obj_count(static_cast<hid_t>(H5F_OBJ_ALL), H5F_OBJ_ALL);
  return n < 0 ? -1 : static_cast<long>(n);
}

}  // namespace h5n
