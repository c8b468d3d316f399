// Open HDF5 files, as owned by JavaScript handles.
#pragma once

#include <hdf5.h>

#include <string>

namespace h5n {

enum class OpenMode : int {
  Read = 0,        // read-only, single-writer/multiple-reader read mode, latest format bounds
  ReadWrite = 1,   // read-write, latest format bounds
  Create = 2,      // create or truncate, default (earliest) format bounds, as h5py's "w"
  CreateNew = 3,   // create, fail if the file exists
};

// One open file. Lives as long as its JavaScript handle, or until closed.
struct FileHandle {
  hid_t fid = H5I_INVALID_HID;
  OpenMode mode = OpenMode::Read;
  std::string path;
  int pending = 0;            // operations running on the thread pool
  bool closeWhenIdle = false; // close() arrived while operations ran
};

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
