// Open HDF5 files, owned by type-tagged JavaScript handles.
#pragma once

#include <hdf5.h>
#include <napi.h>

#include <atomic>
#include <mutex>
#include <string>

namespace h5n {

enum class OpenMode : int {
  Read = 0,       // read-only, SWMR-read, latest format bounds, 8 metadata read attempts
  ReadWrite = 1,  // read-write, latest format bounds
  Create = 2,     // create or truncate, default (earliest) format bounds, as h5py's "w"
  CreateNew = 3,  // create, fail if the file exists
  Amend = 4,      // read-write with default (earliest) format bounds, as h5py's "r+": what is added stays in the file's format
};

// One open file. `pending` and `closeWhenIdle` are guarded by `mu`: work on
// the thread pool pins the handle, and a close() meanwhile waits for it.
struct FileHandle {
  std::atomic<hid_t> fid{H5I_INVALID_HID};
  std::string path;
  std::mutex mu;
  int pending = 0;
  bool closeWhenIdle = false;
};

// Opens `path` (throws Error); `locking` selects libhdf5's file locking.
FileHandle* openFile(const std::string& path, OpenMode mode, bool locking);
// Closes now (idempotent); throws Error when libhdf5 reports one.
void closeFile(FileHandle* handle);
// One more operation on the pool uses the handle / one fewer (closing the
// file when close() was asked for meanwhile and this was the last).
void beginOperation(FileHandle* handle);
void endOperation(FileHandle* handle);

Napi::Value wrapFile(Napi::Env env, FileHandle* handle);
// The open file handle at info[i]: TypeError for anything else, ECLOSED
// (through the error factory) for a closed one.
FileHandle* fileArg(const Napi::CallbackInfo& info, size_t i);

void RegisterFile(Napi::Env env, Napi::Object exports);

}  // namespace h5n
