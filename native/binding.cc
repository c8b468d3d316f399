// N-API surface: flat functions over an opaque, type-tagged file handle.
// Arguments are re-checked here only as far as a wrong one could crash;
// user-facing validation lives in TypeScript.
#include <errno.h>
#include <napi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "async.h"
#include "binding_util.h"
#include "file.h"
#include "lock.h"
#include "ops.h"
#include "splice.h"

namespace {

using h5n::FileHandle;
using h5n::Hid;

Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = bind::stringArg(info, 0, "path");
  int mode = bind::intArg(info, 1, "mode");
  if (mode < 0 || mode > 3) throw Napi::RangeError::New(env, "mode must be 0..3");
  bool locking = info.Length() > 2 ? info[2].ToBoolean().Value() : true;
  FileHandle* handle = bind::guard(env, [&] {
    return h5n::openFile(path, static_cast<h5n::OpenMode>(mode), locking);
  });
  return bind::wrapHandle(env, handle);
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  FileHandle* handle = bind::handleArg(info, 0, /*mustBeOpen=*/false);
  bind::guard(info.Env(), [&] { h5n::requestClose(handle); });
  return info.Env().Undefined();
}

Napi::Value IsOpen(const Napi::CallbackInfo& info) {
  FileHandle* handle = bind::handleArg(info, 0, /*mustBeOpen=*/false);
  std::lock_guard<std::mutex> lock(handle->mu);
  return Napi::Boolean::New(info.Env(), handle->fid >= 0 && !handle->closeWhenIdle);
}

Napi::Value Flush(const Napi::CallbackInfo& info) {
  FileHandle* handle = bind::handleArg(info, 0);
  bind::guard(info.Env(), [&] { h5n::check(H5Fflush(handle->fid, H5F_SCOPE_GLOBAL), "cannot flush file"); });
  return info.Env().Undefined();
}

Napi::Value ObjectCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(h5n::openObjectCount()));
}

Napi::Value LibraryVersion(const Napi::CallbackInfo& info) {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return Napi::String::New(info.Env(), std::to_string(major) + "." + std::to_string(minor) + "." +
                                           std::to_string(release));
}

Napi::Value List(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  bool withKinds = info.Length() > 2 && info[2].ToBoolean().Value();
  std::vector<int> kinds;
  std::vector<std::string> names =
      bind::guard(env, [&] { return h5n::listGroup(handle->fid, path, withKinds ? &kinds : nullptr); });
  Napi::Array out = Napi::Array::New(env, names.size());
  for (uint32_t i = 0; i < names.size(); ++i) out.Set(i, Napi::String::New(env, names[i]));
  if (!withKinds) return out;
  Napi::Array kindArray = Napi::Array::New(env, kinds.size());
  for (uint32_t i = 0; i < kinds.size(); ++i) kindArray.Set(i, Napi::Number::New(env, kinds[i]));
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, out);
  pair.Set(1u, kindArray);
  return pair;
}

Napi::Value Kind(const Napi::CallbackInfo& info) {
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  int kind = bind::guard(info.Env(), [&] { return h5n::objectKind(handle->fid, path); });
  return Napi::Number::New(info.Env(), kind);
}

Napi::Value ReadAttrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  std::string packed;
  bind::guard(env, [&] {
    Hid obj = h5n::openObject(handle->fid, path);
    h5n::readStringAttrs(obj, path, packed);
  });
  return Napi::String::New(env, packed.data(), packed.size());
}

// Attributes of an object plus what a copy needs to know about it:
// [packed attributes, packed names of attributes that are not scalar vlen
// UTF-8 strings, whether it is a plain float64 dataset (null for groups)].
Napi::Value Inspect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  std::string packed;
  std::string nonStandard;
  int plain = -1;
  bind::guard(env, [&] {
    Hid obj = h5n::openObject(handle->fid, path);
    h5n::readStringAttrs(obj, path, packed, &nonStandard);
    if (H5Iget_type(obj) == H5I_DATASET) plain = h5n::isPlainFloat64(obj) ? 1 : 0;
  });
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::String::New(env, packed.data(), packed.size()));
  out.Set(1u, Napi::String::New(env, nonStandard.data(), nonStandard.size()));
  out.Set(2u, plain < 0 ? env.Null() : Napi::Boolean::New(env, plain == 1));
  return out;
}

Napi::Value WriteAttrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  auto names = bind::stringArrayArg(info, 2, "names");
  auto values = bind::stringArrayArg(info, 3, "values");
  if (names.size() != values.size()) throw Napi::RangeError::New(env, "names and values differ in length");
  std::vector<std::pair<std::string, std::string>> attrs;
  attrs.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) attrs.emplace_back(std::move(names[i]), std::move(values[i]));
  bind::guard(env, [&] {
    Hid obj = h5n::openObject(handle->fid, path);
    h5n::writeStringAttrs(obj, path, attrs);
  });
  return env.Undefined();
}

Napi::Value DeleteAttr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  std::string name = bind::stringArg(info, 2, "name");
  bind::guard(env, [&] {
    Hid obj = h5n::openObject(handle->fid, path);
    h5n::deleteAttr(obj, path, name);
  });
  return env.Undefined();
}

// Reads a dataset straight into a Float64Array allocated here; with
// `withAttrs`, also reads the dataset's attributes while it is open.
Napi::Value ReadDataImpl(const Napi::CallbackInfo& info, bool withAttrs) {
  Napi::Env env = info.Env();
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  size_t maxElements = bind::sizeArg(info, 2, "maxElements");
  Napi::Float64Array data;
  h5n::DataShape shape;
  std::string packed;
  bind::guard(env, [&] {
    Hid dset(H5Dopen2(handle->fid, path.c_str(), H5P_DEFAULT), "cannot open dataset '" + path + "'");
    shape = h5n::numericShape(dset, path, maxElements);
    data = Napi::Float64Array::New(env, shape.elements);
    h5n::readFloat64(dset, path, data.Data(), shape);
    if (withAttrs) h5n::readStringAttrs(dset, path, packed);
  });
  Napi::Array out = Napi::Array::New(env, withAttrs ? 3 : 2);
  out.Set(0u, data);
  out.Set(1u, bind::shapeArray(env, shape.dims));
  if (withAttrs) out.Set(2u, Napi::String::New(env, packed.data(), packed.size()));
  return out;
}

Napi::Value ReadData(const Napi::CallbackInfo& info) { return ReadDataImpl(info, false); }
Napi::Value ReadDataWithAttrs(const Napi::CallbackInfo& info) { return ReadDataImpl(info, true); }

Napi::Value Shape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  h5n::DataShape shape = bind::guard(env, [&] {
    Hid dset(H5Dopen2(handle->fid, path.c_str(), H5P_DEFAULT), "cannot open dataset '" + path + "'");
    return h5n::numericShape(dset, path, static_cast<size_t>(-1));
  });
  return bind::shapeArray(env, shape.dims);
}

Napi::Value CreateDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  Napi::Float64Array data = bind::float64Arg(info, 2, "data");
  std::vector<hsize_t> dims = bind::shapeArg(info, 3, data.ElementLength());
  bind::guard(env, [&] { h5n::createFloat64(handle->fid, path, data.Data(), dims); });
  return env.Undefined();
}

Napi::Value WriteData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  Napi::Float64Array data = bind::float64Arg(info, 2, "data");
  std::vector<hsize_t> dims = bind::shapeArg(info, 3, data.ElementLength());
  bind::guard(env, [&] { h5n::writeFloat64(handle->fid, path, data.Data(), dims); });
  return env.Undefined();
}

Napi::Value CreateGroup(const Napi::CallbackInfo& info) {
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  bind::guard(info.Env(), [&] { h5n::createGroup(handle->fid, path); });
  return info.Env().Undefined();
}

Napi::Value Copy(const Napi::CallbackInfo& info) {
  FileHandle* src = bind::handleArg(info, 0);
  std::string srcPath = bind::stringArg(info, 1, "srcPath");
  FileHandle* dst = bind::handleArg(info, 2);
  std::string dstPath = bind::stringArg(info, 3, "dstPath");
  bind::guard(info.Env(), [&] { h5n::copyObject(src->fid, srcPath, dst->fid, dstPath); });
  return info.Env().Undefined();
}

Napi::Value Move(const Napi::CallbackInfo& info) {
  FileHandle* handle = bind::handleArg(info, 0);
  std::string from = bind::stringArg(info, 1, "from");
  std::string to = bind::stringArg(info, 2, "to");
  bind::guard(info.Env(), [&] { h5n::moveLink(handle->fid, from, to); });
  return info.Env().Undefined();
}

Napi::Value Remove(const Napi::CallbackInfo& info) {
  FileHandle* handle = bind::handleArg(info, 0);
  std::string path = bind::stringArg(info, 1, "path");
  bind::guard(info.Env(), [&] { h5n::deleteLink(handle->fid, path); });
  return info.Env().Undefined();
}

// stamp(path): the file's identity and change stamp as one short string
// ("dev:ino:size:mtime:ctime", times in ns), or undefined when the path does
// not exist. Cheaper than fs.statSync with bigints on every trace read.
Napi::Value Stamp(const Napi::CallbackInfo& info) {
  std::string path = bind::stringArg(info, 0, "path");
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return info.Env().Undefined();
    Napi::Error e = Napi::Error::New(info.Env(), "cannot stat " + path + ": " + strerror(err));
    e.Value().Set("code", Napi::String::New(info.Env(), err == EACCES ? "EACCES" : "EIO"));
    throw e;
  }
  char buf[160];
  snprintf(buf, sizeof buf, "%llu:%llu:%lld:%lld.%09ld:%lld.%09ld", (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
           (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  return Napi::String::New(info.Env(), buf);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  h5n::quiet();
  env.AddCleanupHook([] { h5n::closeAllFiles(); });
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("isOpen", Napi::Function::New(env, IsOpen, "isOpen"));
  exports.Set("flush", Napi::Function::New(env, Flush, "flush"));
  exports.Set("objectCount", Napi::Function::New(env, ObjectCount, "objectCount"));
  exports.Set("libraryVersion", Napi::Function::New(env, LibraryVersion, "libraryVersion"));
  exports.Set("list", Napi::Function::New(env, List, "list"));
  exports.Set("kind", Napi::Function::New(env, Kind, "kind"));
  exports.Set("readAttrs", Napi::Function::New(env, ReadAttrs, "readAttrs"));
  exports.Set("inspect", Napi::Function::New(env, Inspect, "inspect"));
  exports.Set("writeAttrs", Napi::Function::New(env, WriteAttrs, "writeAttrs"));
  exports.Set("deleteAttr", Napi::Function::New(env, DeleteAttr, "deleteAttr"));
  exports.Set("readData", Napi::Function::New(env, ReadData, "readData"));
  exports.Set("readDataWithAttrs", Napi::Function::New(env, ReadDataWithAttrs, "readDataWithAttrs"));
  exports.Set("shape", Napi::Function::New(env, Shape, "shape"));
  exports.Set("createDataset", Napi::Function::New(env, CreateDataset, "createDataset"));
  exports.Set("writeData", Napi::Function::New(env, WriteData, "writeData"));
  exports.Set("createGroup", Napi::Function::New(env, CreateGroup, "createGroup"));
  exports.Set("copy", Napi::Function::New(env, Copy, "copy"));
  exports.Set("move", Napi::Function::New(env, Move, "move"));
  exports.Set("remove", Napi::Function::New(env, Remove, "remove"));
  exports.Set("stamp", Napi::Function::New(env, Stamp, "stamp"));
  h5n_lock::Register(env, exports);
  h5n_async::Register(env, exports);
  h5n_splice::Register(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(offspect_hdf5, Init)
