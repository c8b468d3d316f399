// Attributes as text: every attribute of an object read in one call (each
// must be one UTF-8 string), written as h5py writes a Python str.
#include <string.h>

#include <exception>
#include <utility>

#include "binding.h"
#include "errors.h"
#include "file.h"
#include "worker.h"

namespace h5n {

namespace {

using Attrs = std::vector<std::pair<std::string, std::string>>;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

Hid openObject(hid_t file, const std::string& path) {
  return own(H5Oopen(file, path.c_str(), H5P_DEFAULT), "cannot open " + quoted(path));
}

bool isUtf8(const std::string& text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t size = text.size();
  for (size_t i = 0; i < size;) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
    if (extra == 0 || i + extra >= size) return false;
    unsigned cp = c & (0x3F >> extra);
    for (size_t k = 1; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8.
    static const unsigned kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    i += extra + 1;
  }
  return true;
}

herr_t countAttr(hid_t, const char*, const H5A_info_t*, void* data) {
  ++*static_cast<hsize_t*>(data);
  return 0;
}

// libhdf5 1.10.8's H5Aiterate2 first builds a table of all attributes, and
// when decoding one attribute message fails it frees the table's never
// initialised entries. So first make libhdf5 decode every attribute message
// through paths that fail cleanly: looking up a name that is never there
// (compact storage), then a native-order iteration (dense storage walks the
// name index without the table), and check the count.
void checkAttrsDecodable(hid_t obj, const std::string& objPath) {
  const std::string what = "cannot read the attributes of " + quoted(objPath);
  H5O_info_t info;  // (not H5O_INFO_HDR: summarising a damaged header's messages crashes libhdf5)
  check(H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS), what);
  if (info.num_attrs == 0) return;
  if (H5Aexists(obj, "\x01offspect-cachefile: no such attribute") < 0) throwStack(what);
  hsize_t idx = 0, counted = 0;
  check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, countAttr, &counted), what);
  if (info.num_attrs != counted) {
    fail("ECORRUPT", what + ": the object header counts " + std::to_string(info.num_attrs) + " attributes but holds " +
                         std::to_string(counted));
  }
}

std::string readOneString(hid_t obj, const std::string& objPath, const char* name) {
  const std::string where = "attribute " + quoted(name) + " of " + quoted(objPath);
  Hid attr = own(H5Aopen(obj, name, H5P_DEFAULT), "cannot open " + where);
  Hid ftype = own(H5Aget_type(attr), "cannot read the type of " + where);
  H5T_class_t cls = H5Tget_class(ftype);
  if (cls != H5T_STRING) fail("EATTRTYPE", where + " holds " + className(cls) + " data, not a string");
  Hid space = own(H5Aget_space(attr), "cannot read the shape of " + where);
  H5S_class_t sclass = H5Sget_simple_extent_type(space);
  hssize_t points = H5Sget_simple_extent_npoints(space);
  if (sclass == H5S_NULL || points != 1) {
    fail("EATTRSHAPE", where + " holds " + std::to_string(sclass == H5S_NULL ? 0 : points) + " strings, not exactly one");
  }
  htri_t variable = H5Tis_variable_str(ftype);
  if (variable < 0) throwStack("cannot read the type of " + where);
  std::string value;
  if (variable) {
    Hid mtype = own(H5Tcopy(H5T_C_S1), "cannot make a string type");
    check(H5Tset_size(mtype, H5T_VARIABLE), "cannot make a string type");
    check(H5Tset_cset(mtype, H5Tget_cset(ftype)), "cannot make a string type");
    char* buffer = nullptr;
    check(H5Aread(attr, mtype, &buffer), "cannot read " + where);
    if (buffer) value.assign(buffer);
    H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, &buffer);
  } else {
    size_t size = H5Tget_size(ftype);
    if (size == 0) throwStack("cannot read the size of " + where);
    std::vector<char> buffer(size + 1, '\0');
    check(H5Aread(attr, ftype, buffer.data()), "cannot read " + where);
    size_t n = strnlen(buffer.data(), size);
    if (H5Tget_strpad(ftype) == H5T_STR_SPACEPAD) {
      for (n = size; n > 0 && buffer[n - 1] == ' ';) --n;
    }
    value.assign(buffer.data(), n);
  }
  if (!isUtf8(value)) fail("EATTRUTF8", where + " holds bytes that are not UTF-8 text");
  return value;
}

struct ReadContext {
  const std::string* objPath;
  std::string* out;
  std::exception_ptr error;
};

herr_t readAttr(hid_t obj, const char* name, const H5A_info_t*, void* data) {
  auto* ctx = static_cast<ReadContext*>(data);
  try {
    std::string key(name);
    if (!isUtf8(key)) fail("EATTRUTF8", "an attribute name of " + quoted(*ctx->objPath) + " is not UTF-8 text");
    std::string value = readOneString(obj, *ctx->objPath, name);
    ctx->out->append(key).push_back('\0');
    ctx->out->append(value).push_back('\0');
    return 0;
  } catch (...) {
    ctx->error = std::current_exception();
    return -1;
  }
}

// Whether the object's creation property list tracks attribute creation order.
bool tracksAttrOrder(hid_t obj) {
  H5I_type_t type = H5Iget_type(obj);
  Hid plist(type == H5I_DATASET ? H5Dget_create_plist(obj) : type == H5I_GROUP ? H5Gget_create_plist(obj) : -1);
  unsigned flags = 0;
  if (!plist.valid() || H5Pget_attr_creation_order(plist, &flags) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return (flags & H5P_CRT_ORDER_TRACKED) != 0;
}

// "name\0value\0..." for every attribute, in h5py's order (creation order
// when tracked, else increasing name order).
std::string readAttrs(hid_t file, const std::string& path) {
  Hid obj = openObject(file, path);
  checkAttrsDecodable(obj, path);
  std::string packed;
  ReadContext ctx{&path, &packed, nullptr};
  hsize_t idx = 0;
  herr_t status = H5Aiterate2(obj, tracksAttrOrder(obj) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME, H5_ITER_INC, &idx, readAttr, &ctx);
  if (ctx.error) {
    H5Eclear2(H5E_DEFAULT);
    std::rethrow_exception(ctx.error);
  }
  check(status, "cannot read the attributes of " + quoted(path));
  return packed;
}

Hid utf8StringType() {
  Hid type = own(H5Tcopy(H5T_C_S1), "cannot make a string type");
  check(H5Tset_size(type, H5T_VARIABLE), "cannot make a string type");
  check(H5Tset_cset(type, H5T_CSET_UTF8), "cannot make a string type");
  return type;
}

bool isScalarUtf8Vlen(hid_t attr) {
  Hid type(H5Aget_type(attr));
  Hid space(H5Aget_space(attr));
  if (!type.valid() || !space.valid()) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0 && H5Tget_cset(type) == H5T_CSET_UTF8 &&
         H5Sget_simple_extent_type(space) == H5S_SCALAR;
}

// Creates and writes a new attribute; a half-made one is removed again.
void writeNew(hid_t obj, const char* name, hid_t type, hid_t space, const char* value, const std::string& where) {
  Hid attr = own(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), "cannot create " + where);
  if (H5Awrite(attr, type, &value) >= 0) return;
  try {
    throwStack("cannot write " + where);
  } catch (...) {
    attr.reset();
    H5Adelete(obj, name);
    H5Eclear2(H5E_DEFAULT);
    throw;
  }
}

// Writes scalar vlen UTF-8 string attributes as h5py writes a str: one of
// that type is overwritten in place; one of another type is replaced
// through a complete temporary one, so the old value stays until the new
// one is whole.
void writeAttrs(hid_t file, const std::string& path, const Attrs& attrs) {
  Hid obj = openObject(file, path);
  Hid type = utf8StringType();
  Hid space = own(H5Screate(H5S_SCALAR), "cannot make a scalar dataspace");
  for (const auto& [name, value] : attrs) {
    const std::string where = "attribute " + quoted(name) + " of " + quoted(path);
    if (name.empty()) fail("EATTRNAME", "an attribute name must not be empty");
    if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      fail("EATTRNUL", where + " contains a NUL character, which HDF5 strings cannot hold");
    }
    htri_t exists = H5Aexists(obj, name.c_str());
    if (exists < 0) throwStack("cannot look up " + where);
    if (!exists) {
      writeNew(obj, name.c_str(), type, space, value.c_str(), where);
      continue;
    }
    {
      Hid attr = own(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "cannot open " + where);
      if (isScalarUtf8Vlen(attr)) {
        const char* text = value.c_str();
        check(H5Awrite(attr, type, &text), "cannot write " + where);
        continue;
      }
    }
    std::string temp = name + "\x01replacing";
    if (H5Aexists(obj, temp.c_str()) > 0) H5Adelete(obj, temp.c_str());
    writeNew(obj, temp.c_str(), type, space, value.c_str(), where);
    if (H5Adelete(obj, name.c_str()) < 0) {
      H5Adelete(obj, temp.c_str());
      throwStack("cannot replace " + where);
    }
    check(H5Arename(obj, temp.c_str(), name.c_str()), "cannot replace " + where);
  }
}

Attrs attrsArgs(const Napi::CallbackInfo& info) {
  auto names = stringsArg(info, 2, "names");
  auto values = stringsArg(info, 3, "values");
  if (names.size() != values.size()) throw Napi::RangeError::New(info.Env(), "names and values differ in length");
  Attrs attrs;
  attrs.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) attrs.emplace_back(std::move(names[i]), std::move(values[i]));
  return attrs;
}

// attributesRead(file, path) -> "name\0value\0..."
Napi::Value AttributesRead(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  std::string packed = guard(info.Env(), handle->path, [&] { return readAttrs(handle->fid, path); });
  return Napi::String::New(info.Env(), packed.data(), packed.size());
}

// attributesWrite(file, path, names, values)
Napi::Value AttributesWrite(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  Attrs attrs = attrsArgs(info);
  guard(info.Env(), handle->path, [&] { writeAttrs(handle->fid, path, attrs); });
  return info.Env().Undefined();
}

// attributesWriteAsync(file, path, names, values, flush) -> Promise<undefined>
Napi::Value AttributesWriteAsync(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  Attrs attrs = attrsArgs(info);
  bool flush = boolArg(info, 4, "flush");
  return Worker<bool>::Queue(
      info.Env(), handle, info[0], handle->path,
      [=] {
        writeAttrs(handle->fid, path, attrs);
        if (flush) check(H5Fflush(handle->fid, H5F_SCOPE_GLOBAL), "cannot flush file");
        return true;
      },
      undefinedValue);
}

// attributeDelete(file, path, name): a missing attribute is not an error
Napi::Value AttributeDelete(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  std::string name = stringArg(info, 2, "name");
  guard(info.Env(), handle->path, [&] {
    Hid obj = openObject(handle->fid, path);
    const std::string where = "attribute " + quoted(name) + " of " + quoted(path);
    htri_t exists = H5Aexists(obj, name.c_str());
    if (exists < 0) throwStack("cannot look up " + where);
    if (exists) check(H5Adelete(obj, name.c_str()), "cannot delete " + where);
  });
  return info.Env().Undefined();
}

}  // namespace

void RegisterAttribute(Napi::Env env, Napi::Object exports) {
  exports.Set("attributesRead", Napi::Function::New(env, AttributesRead, "attributesRead"));
  exports.Set("attributesWrite", Napi::Function::New(env, AttributesWrite, "attributesWrite"));
  exports.Set("attributesWriteAsync", Napi::Function::New(env, AttributesWriteAsync, "attributesWriteAsync"));
  exports.Set("attributeDelete", Napi::Function::New(env, AttributeDelete, "attributeDelete"));
}

}  // namespace h5n
