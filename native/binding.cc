// The addon's entry point: flat functions over type-tagged handles, one
// family per file (file, group, attribute, dataset, lock), errors through
// the factory TypeScript hands to setErrorFactory, and h5py's LZF filter.
#include "binding.h"

#include "errors.h"
#include "file.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Before libhdf5 starts: it must not close files at exit by itself. A
  // file whose close failed (a full disk) stays open, and libhdf5's exit
  // handler would close it again and crash; the cleanup hook of file.cc
  // closes what is open instead (and leaves what cannot be closed).
  H5dont_atexit();
  h5n::quiet();
  h5n::RegisterErrors(env, exports);
  h5n::guard(env, "", [] { h5n::registerLzf(); });
  h5n::RegisterFile(env, exports);
  h5n::RegisterGroup(env, exports);
  h5n::RegisterAttribute(env, exports);
  h5n::RegisterDataset(env, exports);
  h5n::RegisterLock(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(offspect_hdf5, Init)
