// Open HDF5 files, as owned by JavaScript handles.
#pragma once

#include <hdf5.h>

#include <atomic>
#include <mutex>
#include <string>

namespace h5n {

enum class OpenMode : int {
  Read = 0,        // read-only, single-writer/multiple-reader read mode, latest format bounds
  ReadWrite = 1,   // read-write, latest format bounds
  Create = 2,      // create or truncate, default (earliest) format bounds, as h5py's "w"
  CreateNew = 3,   // create, fail if the file exists
};

// One open file. Lives as long as its JavaScript handle, or until closed.
// `pending` and `closeWhenIdle` are guarded by `mu`: thread-pool operations
// finish (and, when asked to, close the file) on their own thread.
struct FileHandle {
  std::atomic<hid_t> fid{H5I_INVALID_HID};
  OpenMode mode = OpenMode::Read;
  std::string path;
  std::mutex mu;
  int pending = 0;            // operations queued or running on the thread pool
  bool closeWhenIdle = false; // close() arrived while operations were pending
};

// Marks one more pending operation on the handle.
void beginOperation(FileHandle* handle);

// Ends a pending operation; closes the file if close() was asked for meanwhile
// and this was the last one. Safe on any thread.
void endOperation(FileHandle* handle);

// Closes now, or when the last pending operation ends. Returns false if deferred.
bool requestClose(FileHandle* handle);

// Opens `path`; throws h5n::Error on failure. `locking` selects HDF5's file
// locking (on by default, as in libhdf5).
FileHandle* openFile(const std::string& path, OpenMode mode, bool locking);

// Closes the file (idempotent); throws h5n::Error when libhdf5 reports an error.
void closeFile(FileHandle* handle);

// Closes every file still open (used at environment teardown).
void closeAllFiles();

// Number of open files and objects in all files known to libhdf5.
long openObjectCount();

}  // namespace h5n
