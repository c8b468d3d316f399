#include "h5util.h"

namespace h5n {

void quiet() {
  // The automatic error printing is a per-thread setting in a thread-safe
  // build; remember per thread that it is already off.
  thread_local bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

namespace {

std::string message(hid_t id) {
  char buffer[256];
  ssize_t n = H5Eget_msg(id, nullptr, buffer, sizeof(buffer));
  if (n <= 0) return std::string();
  return std::string(buffer, static_cast<size_t>(n) < sizeof(buffer) ? static_cast<size_t>(n)
                                                                       : sizeof(buffer) - 1);
}

herr_t collect(unsigned, const H5E_error2_t* err, void* data) {
  auto* frames = static_cast<std::vector<ErrorFrame>*>(data);
  ErrorFrame frame;
  frame.func = err->func_name ? err->func_name : "";
  frame.desc = err->desc ? err->desc : "";
  frame.major = message(err->maj_num);
  frame.minor = message(err->min_num);
  frames->push_back(std::move(frame));
  return 0;
}

}  // namespace

void throwStack(const std::string& what) {
  std::vector<ErrorFrame> frames;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &frames);
  H5Eclear2(H5E_DEFAULT);
  std::string text = what;
  if (!frames.empty()) {
    const std::string& top = frames.front().desc;
    const std::string& bottom = frames.back().desc;
    text += ": " + top;
    if (frames.size() > 1 && bottom != top) text += " (" + bottom + ")";
  }
  throw Error("EHDF5", text, std::move(frames));
}

herr_t Hid::reset() {
  if (id_ < 0) return 0;
  hid_t id = id_;
  id_ = H5I_INVALID_HID;
  switch (H5Iget_type(id)) {
    case H5I_FILE:
      return H5Fclose(id);
    case H5I_GROUP:
      return H5Gclose(id);
    case H5I_DATASET:
      return H5Dclose(id);
    case H5I_ATTR:
      return H5Aclose(id);
    case H5I_DATATYPE:
      return H5Tclose(id);
    case H5I_DATASPACE:
      return H5Sclose(id);
    case H5I_GENPROP_LST:
      return H5Pclose(id);
    default:
      return H5Idec_ref(id) < 0 ? -1 : 0;
  }
}

bool isUtf8(const char* bytes, size_t size) {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes);
  size_t i = 0;
  while (i < size) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= extra; ++k) {
      if (i + k >= size) return false;
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace h5n
