// RAII over libhdf5 identifiers: every hid_t this addon opens is owned by a
// Hid and closed with the matching H5?close on every path, errors included.
// Also the names of datatype classes, for messages.
#pragma once

#include <hdf5.h>

namespace h5n {

class Hid {
 public:
  Hid() = default;
  explicit Hid(hid_t id) : id_(id) {}
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

  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }

  // Closes now; returns the close call's status (0 when nothing was open).
  herr_t reset() {
    if (id_ < 0) return 0;
    hid_t id = id_;
    id_ = H5I_INVALID_HID;
    switch (H5Iget_type(id)) {
      case H5I_FILE: return H5Fclose(id);
      case H5I_GROUP: return H5Gclose(id);
      case H5I_DATASET: return H5Dclose(id);
      case H5I_ATTR: return H5Aclose(id);
      case H5I_DATATYPE: return H5Tclose(id);
      case H5I_DATASPACE: return H5Sclose(id);
      case H5I_GENPROP_LST: return H5Pclose(id);
      default: return H5Idec_ref(id) < 0 ? -1 : 0;
    }
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

inline const char* className(H5T_class_t cls) {
  switch (cls) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_TIME: return "time";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_ARRAY: return "array";
    default: return "unknown";
  }
}

}  // namespace h5n
