// Argument checks and error conversion shared by the N-API functions.
#pragma once

#include <napi.h>

#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "file.h"
#include "h5util.h"

namespace bind {

// Tag that marks externals created by this addon as file handles.
inline const napi_type_tag kFileTag = {0x6f66667370656374ULL, 0x6864663566696c65ULL};

// Converts an h5n::Error into a JavaScript Error with `code` and, for HDF5
// failures, `hdf5` (the error stack, outermost first).
inline Napi::Error toJs(Napi::Env env, const h5n::Error& e) {
  Napi::Error error = Napi::Error::New(env, e.what());
  error.Value().Set("code", Napi::String::New(env, e.code()));
  if (!e.frames().empty()) {
    Napi::Array frames = Napi::Array::New(env, e.frames().size());
    for (uint32_t i = 0; i < e.frames().size(); ++i) {
      const h5n::ErrorFrame& f = e.frames()[i];
      Napi::Object frame = Napi::Object::New(env);
      frame.Set("func", f.func);
      frame.Set("major", f.major);
      frame.Set("minor", f.minor);
      frame.Set("desc", f.desc);
      frames.Set(i, frame);
    }
    error.Value().Set("hdf5", frames);
  }
  return error;
}

// Runs `fn`, turning h5n::Error (and allocation failures) into JavaScript errors.
// For AsyncWorker::Execute: runs fn and returns its failure as an h5n::Error
// (its code kept; ENOMEM for bad_alloc; `otherCode` for any other exception),
// or nullptr. OnError turns it into the same JavaScript error toJs gives.
template <typename Fn>
std::unique_ptr<h5n::Error> captureFailure(Fn&& fn, const char* otherCode) {
  try {
    fn();
    return nullptr;
  } catch (const h5n::Error& e) {
    return std::make_unique<h5n::Error>(e);
  } catch (const std::bad_alloc&) {
    return std::make_unique<h5n::Error>("ENOMEM", "out of memory");
  } catch (const std::exception& e) {
    return std::make_unique<h5n::Error>(otherCode, e.what());
  }
}

template <typename Fn>
auto guard(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const h5n::Error& e) {
    throw toJs(env, e);
  } catch (const std::bad_alloc&) {
    Napi::Error error = Napi::Error::New(env, "out of memory");
    error.Value().Set("code", Napi::String::New(env, "ENOMEM"));
    throw error;
  }
}

inline Napi::Value wrapHandle(Napi::Env env, h5n::FileHandle* handle) {
  auto external = Napi::External<h5n::FileHandle>::New(env, handle, [](Napi::Env, h5n::FileHandle* h) {
    // Garbage collection is the safety net for handles nobody closed. Pending
    // operations pin the handle, so none can be running here.
    try {
      h5n::closeFile(h);
    } catch (...) {
    }
    delete h;
  });
  external.TypeTag(&kFileTag);
  return external;
}

inline h5n::FileHandle* handleArg(const Napi::CallbackInfo& info, size_t i, bool mustBeOpen = true) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsExternal() || !info[i].As<Napi::External<void>>().CheckTypeTag(&kFileTag)) {
    throw Napi::TypeError::New(env, "expected a file handle");
  }
  auto* handle = info[i].As<Napi::External<h5n::FileHandle>>().Data();
  bool closing;
  {
    std::lock_guard<std::mutex> lock(handle->mu);
    closing = handle->closeWhenIdle;
  }
  if (mustBeOpen && (handle->fid < 0 || closing)) {
    Napi::Error error = Napi::Error::New(env, "the file handle is closed");
    error.Value().Set("code", Napi::String::New(env, "ECLOSED"));
    throw error;
  }
  return handle;
}

inline std::string stringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string("expected a string for ") + name);
  }
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must not contain NUL characters");
  }
  return s;
}

inline int intArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("expected a number for ") + name);
  }
  return info[i].As<Napi::Number>().Int32Value();
}

inline size_t sizeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("expected a number for ") + name);
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v > 9007199254740991.0) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be a non-negative integer");
  }
  return static_cast<size_t>(v);
}

inline std::vector<std::string> stringArrayArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsArray()) {
    throw Napi::TypeError::New(info.Env(), std::string("expected an array of strings for ") + name);
  }
  Napi::Array array = info[i].As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsString()) {
      throw Napi::TypeError::New(info.Env(), std::string("expected an array of strings for ") + name);
    }
    out.push_back(v.As<Napi::String>().Utf8Value());
  }
  return out;
}

inline Napi::Float64Array float64Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(info.Env(), std::string("expected a Float64Array for ") + name);
  }
  return info[i].As<Napi::Float64Array>();
}

// A shape (array of non-negative integers) whose product must be `elements`.
inline std::vector<hsize_t> shapeArg(const Napi::CallbackInfo& info, size_t i, size_t elements) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsArray()) throw Napi::TypeError::New(env, "expected a shape array");
  Napi::Array array = info[i].As<Napi::Array>();
  if (array.Length() == 0 || array.Length() > 32) throw Napi::RangeError::New(env, "a shape has 1 to 32 dimensions");
  std::vector<hsize_t> dims;
  size_t product = 1;
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(env, "expected a shape of integers");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
      throw Napi::RangeError::New(env, "a shape holds non-negative integers");
    }
    dims.push_back(static_cast<hsize_t>(d));
    product *= static_cast<size_t>(d);
  }
  if (product != elements) throw Napi::RangeError::New(env, "the shape does not match the number of values");
  return dims;
}

inline Napi::Array shapeArray(Napi::Env env, const std::vector<hsize_t>& dims) {
  Napi::Array shape = Napi::Array::New(env, dims.size());
  for (uint32_t k = 0; k < dims.size(); ++k) shape.Set(k, Napi::Number::New(env, static_cast<double>(dims[k])));
  return shape;
}

}  // namespace bind
