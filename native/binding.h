// Argument checks of the N-API functions (only as far as a wrong argument
// could crash: user-facing validation is TypeScript's; mistakes here are
// TypeErrors and RangeErrors), and the registration of each family.
#pragma once

#include <hdf5.h>
#include <napi.h>

#include <string>
#include <vector>

namespace h5n {

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

inline bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), std::string("expected a boolean for ") + name);
  }
  return info[i].As<Napi::Boolean>().Value();
}

inline double numberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("expected a number for ") + name);
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

inline size_t sizeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double v = numberArg(info, i, name);
  if (!(v >= 0) || v > 9007199254740991.0 || v != static_cast<double>(static_cast<uint64_t>(v))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be a non-negative integer");
  }
  return static_cast<size_t>(v);
}

inline std::vector<std::string> stringsArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsArray()) {
    throw Napi::TypeError::New(info.Env(), std::string("expected an array of strings for ") + name);
  }
  Napi::Array array = info[i].As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), std::string("expected an array of strings for ") + name);
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

// A shape (1 to 32 non-negative integers) whose product must be `elements`.
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
    if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
      throw Napi::RangeError::New(env, "a shape holds non-negative integers");
    }
    dims.push_back(static_cast<hsize_t>(d));
    product *= static_cast<size_t>(d);
  }
  if (product != elements) throw Napi::RangeError::New(env, "the shape does not match the number of values");
  return dims;
}

inline Napi::Array shapeValue(Napi::Env env, const std::vector<hsize_t>& dims) {
  Napi::Array shape = Napi::Array::New(env, dims.size());
  for (uint32_t k = 0; k < dims.size(); ++k) shape.Set(k, Napi::Number::New(env, static_cast<double>(dims[k])));
  return shape;
}

inline Napi::Value undefinedValue(Napi::Env env, bool&) { return env.Undefined(); }

void RegisterGroup(Napi::Env env, Napi::Object exports);
void RegisterAttribute(Napi::Env env, Napi::Object exports);
void RegisterDataset(Napi::Env env, Napi::Object exports);
void RegisterLock(Napi::Env env, Napi::Object exports);
// Registers h5py's LZF filter (id 32000) with libhdf5; throws Error.
void registerLzf();

}  // namespace h5n
