// Failures, and how they reach JavaScript. Native code classifies nothing:
// a libhdf5 failure carries its error stack as numbers named after
// H5Epubgen.h ("H5E_FILE", "H5E_CANTOPENFILE") and the errno saved right
// after the failing call; a check of ours carries a code ("EDTYPE"); a
// failed system call its errno's name. TypeScript hands one factory to
// setErrorFactory at load, and every failure is thrown as what it returns.
#pragma once

#include <errno.h>
#include <napi.h>

#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "hid.h"

namespace h5n {

// One frame of libhdf5's error stack (outermost first in Failure::frames).
struct Frame {
  std::string func;
  std::string desc;
  const char* major;
  const char* minor;
};

enum class Kind { Hdf5, Check, System };

struct Failure {
  Kind kind = Kind::Check;
  std::string message;
  std::string code;      // Check: what failed ("EDTYPE", "ECLOSED", ...)
  int errnum = 0;        // Hdf5: errno right after the failing call; System: the call's errno
  std::string syscall;   // System: the call that failed
  std::string file;      // the file concerned, when there is one
  std::vector<Frame> frames;
};

class Error : public std::exception {
 public:
  explicit Error(Failure f) : failure(std::move(f)) {}
  const char* what() const noexcept override { return failure.message.c_str(); }
  Failure failure;
};

// Switches off libhdf5's printing of errors to stderr (per thread).
void quiet();

// Captures and clears the calling thread's error stack (and errno) and
// throws it; the message reads "<what>: <outermost> (<innermost>)".
[[noreturn]] void throwStack(const std::string& what);
// A check of ours failed: throws a Check failure with `code`.
[[noreturn]] void fail(const char* code, const std::string& message);
// A system call failed with `err`.
[[noreturn]] void failSystem(int err, const char* syscall, const std::string& message);

inline void check(herr_t status, const std::string& what) {
  if (status < 0) throwStack(what);
}
// Takes ownership of an identifier libhdf5 returned, or throws its stack.
inline Hid own(hid_t id, const std::string& what) {
  if (id < 0) throwStack(what);
  return Hid(id);
}

// The symbolic name of an errno value ("ENOENT"); "" for 0.
std::string errnoName(int err);

// Runs `fn` (errno cleared first); returns its failure, or nullptr. A
// failure without a file is given `file`.
template <typename Fn>
std::unique_ptr<Failure> capture(Fn&& fn, const std::string& file) {
  std::unique_ptr<Failure> out;
  try {
    errno = 0;
    fn();
    return nullptr;
  } catch (const Error& e) {
    out = std::make_unique<Failure>(e.failure);
  } catch (const std::bad_alloc&) {
    out = std::make_unique<Failure>(Failure{Kind::System, "out of memory", "", ENOMEM, "malloc", "", {}});
  } catch (const Napi::Error&) {
    throw;  // a JavaScript exception (main thread only) stays one
  } catch (const std::exception& e) {
    out = std::make_unique<Failure>(Failure{Kind::Check, e.what(), "EINTERNAL", 0, "", "", {}});
  }
  if (out->file.empty()) out->file = file;
  return out;
}

// The JavaScript error for a failure: what the factory returns for it.
Napi::Value toJs(Napi::Env env, const Failure& failure);

// Runs `fn` on the main thread; a failure is thrown as its JavaScript error.
template <typename Fn>
auto guard(Napi::Env env, const std::string& file, Fn&& fn) -> decltype(fn()) {
  std::unique_ptr<Failure> failure;
  if constexpr (std::is_void_v<decltype(fn())>) {
    failure = capture(fn, file);
    if (!failure) return;
  } else {
    decltype(fn()) result{};
    failure = capture([&] { result = fn(); }, file);
    if (!failure) return result;
  }
  throw Napi::Error(env, toJs(env, *failure));
}

void RegisterErrors(Napi::Env env, Napi::Object exports);

}  // namespace h5n
