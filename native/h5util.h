// Small RAII and error helpers over the libhdf5 C API.
//
// Nothing here knows what the file holds: these are generic HDF5 tools.
#pragma once

#include <hdf5.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace h5n {

// One frame of the HDF5 error stack, outermost first.
struct ErrorFrame {
  std::string func;
  std::string major;
  std::string minor;
  std::string desc;
};

// A failure of an HDF5 call or of a check made before calling HDF5.
// `code` is a short machine-readable tag (e.g. "EHDF5", "ERANK");
// `frames` is the captured HDF5 error stack (empty for our own checks).
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message, std::vector<ErrorFrame> frames = {})
      : std::runtime_error(message), code_(std::move(code)), frames_(std::move(frames)) {}
  const std::string& code() const { return code_; }
  const std::vector<ErrorFrame>& frames() const { return frames_; }

 private:
  std::string code_;
  std::vector<ErrorFrame> frames_;
};

// Switches off libhdf5's own printing of errors to stderr for the calling
// thread (the error stack is per thread in a thread-safe build).
void quiet();

// Captures and clears the calling thread's HDF5 error stack and throws it as
// an Error whose message reads "<what>: <outermost> (<innermost>)".
[[noreturn]] void throwStack(const std::string& what);

// Throws the HDF5 error stack when `status` is negative.
inline void check(herr_t status, const char* what) {
  if (status < 0) throwStack(what);
}
inline void check(herr_t status, const std::string& what) {
  if (status < 0) throwStack(what);
}

// Owns one HDF5 identifier of any kind and closes it with the matching
// H5?close function when it goes out of scope, on every path.
class Hid {
 public:
  Hid() = default;
  explicit Hid(hid_t id) : id_(id) {}
  // Takes ownership of `id` or throws the HDF5 error stack if it is invalid.
  Hid(hid_t id, const std::string& what) : id_(id) {
    if (id_ < 0) throwStack(what);
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  Hid(Hid&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Hid& operator=(Hid&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      other.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  ~Hid() { reset(); }

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }

  // Closes now; returns the status of the close call (0 when nothing open).
  herr_t reset();
  // Gives up ownership without closing.
  hid_t release() {
    hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// True when `bytes` is well-formed UTF-8.
bool isUtf8(const char* bytes, size_t size);

}  // namespace h5n
