#include "ops.h"

#include <cstring>
#include <exception>

namespace h5n {

namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

struct ListContext {
  std::vector<std::string>* names;
  std::vector<int>* kinds;
  std::exception_ptr error;
};

herr_t listMember(hid_t group, const char* name, const H5L_info_t* info, void* data) {
  auto* ctx = static_cast<ListContext*>(data);
  try {
    ctx->names->emplace_back(name);
    if (ctx->kinds) {
      int kind = KindOther;
      if (info->type == H5L_TYPE_HARD) {
        H5O_info_t oinfo;
        if (H5Oget_info_by_name2(group, name, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
          throwStack("cannot inspect " + quoted(name));
        }
        if (oinfo.type == H5O_TYPE_GROUP) kind = KindGroup;
        else if (oinfo.type == H5O_TYPE_DATASET) kind = KindDataset;
        else if (oinfo.type == H5O_TYPE_NAMED_DATATYPE) kind = KindDatatype;
      }
      ctx->kinds->push_back(kind);
    }
    return 0;
  } catch (...) {
    // Exceptions must not unwind through libhdf5's C frames.
    ctx->error = std::current_exception();
    return -1;
  }
}

const char* className(H5T_class_t cls) {
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

std::string readOneString(hid_t obj, const std::string& objPath, const char* name, bool* standard) {
  const std::string where = "attribute " + quoted(name) + " of " + quoted(objPath);
  Hid attr(H5Aopen(obj, name, H5P_DEFAULT), "cannot open " + where);
  Hid ftype(H5Aget_type(attr), "cannot read the type of " + where);
  H5T_class_t cls = H5Tget_class(ftype);
  if (cls != H5T_STRING) {
    throw Error("EATTRTYPE", where + " holds " + className(cls) + " data, not a string");
  }
  Hid space(H5Aget_space(attr), "cannot read the shape of " + where);
  H5S_class_t sclass = H5Sget_simple_extent_type(space);
  hssize_t points = H5Sget_simple_extent_npoints(space);
  if (sclass == H5S_NULL || points != 1) {
    throw Error("EATTRSHAPE", where + " holds " + std::to_string(sclass == H5S_NULL ? 0 : points) +
                                  " strings, not exactly one");
  }
  H5T_cset_t cset = H5Tget_cset(ftype);
  std::string value;
  htri_t variable = H5Tis_variable_str(ftype);
  if (variable < 0) throwStack("cannot read the type of " + where);
  if (standard) *standard = variable > 0 && cset == H5T_CSET_UTF8 && sclass == H5S_SCALAR;
  if (variable) {
    Hid mtype(H5Tcopy(H5T_C_S1), "cannot make a string type");
    check(H5Tset_size(mtype, H5T_VARIABLE), "cannot make a string type");
    check(H5Tset_cset(mtype, cset), "cannot make a string type");
    char* buffer = nullptr;
    check(H5Aread(attr, mtype, &buffer), "cannot read " + where);
    if (buffer) value.assign(buffer);
    H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, &buffer);
  } else {
    size_t size = H5Tget_size(ftype);
    if (size == 0) throwStack("cannot read the size of " + where);
    Hid mtype(H5Tcopy(ftype), "cannot make a string type");
    std::vector<char> buffer(size + 1, '\0');
    check(H5Aread(attr, mtype, buffer.data()), "cannot read " + where);
    if (H5Tget_strpad(ftype) == H5T_STR_SPACEPAD) {
      size_t n = size;
      while (n > 0 && buffer[n - 1] == ' ') --n;
      value.assign(buffer.data(), n);
    } else {
      value.assign(buffer.data(), strnlen(buffer.data(), size));
    }
  }
  if (!isUtf8(value.data(), value.size())) {
    throw Error("EATTRUTF8", where + " holds bytes that are not UTF-8 text");
  }
  return value;
}

struct AttrContext {
  const std::string* objPath;
  std::string* out;
  std::string* nonStandard;
  size_t count = 0;
  std::exception_ptr error;
};

herr_t readAttr(hid_t obj, const char* name, const H5A_info_t*, void* data) {
  auto* ctx = static_cast<AttrContext*>(data);
  try {
    size_t nameLength = std::strlen(name);
    if (!isUtf8(name, nameLength)) {
      throw Error("EATTRUTF8", "an attribute name of " + quoted(*ctx->objPath) + " is not UTF-8 text");
    }
    bool standard = true;
    std::string value = readOneString(obj, *ctx->objPath, name, ctx->nonStandard ? &standard : nullptr);
    if (!standard) {
      ctx->nonStandard->append(name, nameLength);
      ctx->nonStandard->push_back('\0');
    }
    ctx->out->append(name, nameLength);
    ctx->out->push_back('\0');
    ctx->out->append(value);
    ctx->out->push_back('\0');
    ++ctx->count;
    return 0;
  } catch (...) {
    ctx->error = std::current_exception();
    return -1;
  }
}

// Whether the object's creation property list tracks attribute creation order.
bool tracksAttrOrder(hid_t obj) {
  H5I_type_t type = H5Iget_type(obj);
  Hid plist;
  if (type == H5I_DATASET) plist = Hid(H5Dget_create_plist(obj));
  else if (type == H5I_GROUP) plist = Hid(H5Gget_create_plist(obj));
  else return false;
  if (!plist.valid()) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  unsigned flags = 0;
  if (H5Pget_attr_creation_order(plist, &flags) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return (flags & H5P_CRT_ORDER_TRACKED) != 0;
}

Hid utf8StringType() {
  Hid type(H5Tcopy(H5T_C_S1), "cannot make a string type");
  check(H5Tset_size(type, H5T_VARIABLE), "cannot make a string type");
  check(H5Tset_cset(type, H5T_CSET_UTF8), "cannot make a string type");
  return type;
}

// True when the attribute is a scalar variable-length UTF-8 string.
bool isScalarUtf8Vlen(hid_t attr) {
  Hid type(H5Aget_type(attr));
  Hid space(H5Aget_space(attr));
  if (!type.valid() || !space.valid()) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0 &&
         H5Tget_cset(type) == H5T_CSET_UTF8 && H5Sget_simple_extent_type(space) == H5S_SCALAR;
}

void writeNew(hid_t obj, const char* name, hid_t type, hid_t space, const char* value,
              const std::string& where) {
  Hid attr(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), "cannot create " + where);
  if (H5Awrite(attr, type, &value) < 0) {
    try {
      throwStack("cannot write " + where);
    } catch (...) {
      // Remove the half-made attribute, then report the original failure.
      attr.reset();
      H5Adelete(obj, name);
      H5Eclear2(H5E_DEFAULT);
      throw;
    }
  }
}

}  // namespace

std::vector<std::string> listGroup(hid_t file, const std::string& path, std::vector<int>* kinds) {
  Hid group(H5Gopen2(file, path.c_str(), H5P_DEFAULT), "cannot open group " + quoted(path));
  std::vector<std::string> names;
  ListContext ctx{&names, kinds, nullptr};
  hsize_t idx = 0;
  herr_t status = H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, listMember, &ctx);
  if (ctx.error) std::rethrow_exception(ctx.error);
  check(status, "cannot list group " + quoted(path));
  return names;
}

int objectKind(hid_t file, const std::string& path) {
  // Check every link on the way, so a missing parent is "absent", not an error.
  if (path.empty() || path == "/") return KindGroup;
  size_t pos = 0;
  while (true) {
    size_t next = path.find('/', pos + 1);
    std::string prefix = path.substr(0, next);
    if (!prefix.empty() && prefix != "/") {
      htri_t exists = H5Lexists(file, prefix.c_str(), H5P_DEFAULT);
      if (exists < 0) {
        H5Eclear2(H5E_DEFAULT);
        return -1;
      }
      if (!exists) return -1;
    }
    if (next == std::string::npos) break;
    pos = next;
  }
  H5O_info_t info;
  if (H5Oget_info_by_name2(file, path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return KindOther;
  }
  if (info.type == H5O_TYPE_GROUP) return KindGroup;
  if (info.type == H5O_TYPE_DATASET) return KindDataset;
  if (info.type == H5O_TYPE_NAMED_DATATYPE) return KindDatatype;
  return KindOther;
}

Hid openObject(hid_t file, const std::string& path) {
  return Hid(H5Oopen(file, path.c_str(), H5P_DEFAULT), "cannot open " + quoted(path));
}

size_t readStringAttrs(hid_t obj, const std::string& objPath, std::string& out, std::string* nonStandard) {
  AttrContext ctx{&objPath, &out, nonStandard, 0, nullptr};
  hsize_t idx = 0;
  H5_index_t order = tracksAttrOrder(obj) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  herr_t status = H5Aiterate2(obj, order, H5_ITER_INC, &idx, readAttr, &ctx);
  if (ctx.error) {
    H5Eclear2(H5E_DEFAULT);
    std::rethrow_exception(ctx.error);
  }
  check(status, "cannot read the attributes of " + quoted(objPath));
  return ctx.count;
}

bool isPlainFloat64(hid_t dset) {
  Hid type(H5Dget_type(dset));
  Hid plist(H5Dget_create_plist(dset));
  if (!type.valid() || !plist.valid()) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return H5Tequal(type, H5T_IEEE_F64LE) > 0 && H5Pget_layout(plist) == H5D_CONTIGUOUS &&
         H5Pget_nfilters(plist) == 0;
}

void writeStringAttrs(hid_t obj, const std::string& objPath,
                      const std::vector<std::pair<std::string, std::string>>& attrs) {
  Hid type = utf8StringType();
  Hid space(H5Screate(H5S_SCALAR), "cannot make a scalar dataspace");
  for (const auto& [name, value] : attrs) {
    const std::string where = "attribute " + quoted(name) + " of " + quoted(objPath);
    if (name.empty()) throw Error("EATTRNAME", "an attribute name must not be empty");
    if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      throw Error("EATTRNUL", where + " contains a NUL character, which HDF5 strings cannot hold");
    }
    const char* text = value.c_str();
    htri_t exists = H5Aexists(obj, name.c_str());
    if (exists < 0) throwStack("cannot look up " + where);
    if (!exists) {
      writeNew(obj, name.c_str(), type, space, text, where);
      continue;
    }
    {
      Hid attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "cannot open " + where);
      if (isScalarUtf8Vlen(attr)) {
        check(H5Awrite(attr, type, &text), "cannot write " + where);
        continue;
      }
    }
    // Replace an attribute of another type: write a complete temporary one,
    // then swap it in, so the old value stays until the new one is whole.
    std::string temp = name + "\x01replacing";
    if (H5Aexists(obj, temp.c_str()) > 0) H5Adelete(obj, temp.c_str());
    writeNew(obj, temp.c_str(), type, space, text, where);
    if (H5Adelete(obj, name.c_str()) < 0) {
      H5Adelete(obj, temp.c_str());
      throwStack("cannot replace " + where);
    }
    check(H5Arename(obj, temp.c_str(), name.c_str()), "cannot replace " + where);
  }
}

void deleteAttr(hid_t obj, const std::string& objPath, const std::string& name) {
  htri_t exists = H5Aexists(obj, name.c_str());
  if (exists < 0) throwStack("cannot look up attribute " + quoted(name) + " of " + quoted(objPath));
  if (exists) check(H5Adelete(obj, name.c_str()), "cannot delete attribute " + quoted(name));
}

DataShape numericShape(hid_t dset, const std::string& path, size_t maxElements) {
  Hid type(H5Dget_type(dset), "cannot read the type of " + quoted(path));
  H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
    throw Error("EDTYPE", "dataset " + quoted(path) + " holds " + className(cls) + " data, not numbers");
  }
  Hid space(H5Dget_space(dset), "cannot read the shape of " + quoted(path));
  H5S_class_t sclass = H5Sget_simple_extent_type(space);
  DataShape shape;
  if (sclass == H5S_NULL) {
    shape.elements = 0;
    shape.dims = {0};
    return shape;
  }
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) throwStack("cannot read the shape of " + quoted(path));
  shape.dims.resize(static_cast<size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, shape.dims.data(), nullptr) < 0) {
    throwStack("cannot read the shape of " + quoted(path));
  }
  size_t elements = 1;
  for (hsize_t d : shape.dims) {
    if (d != 0 && elements > maxElements / d) {
      throw Error("ETOOBIG", "dataset " + quoted(path) + " declares more than " +
                                 std::to_string(maxElements) + " elements");
    }
    elements *= static_cast<size_t>(d);
  }
  if (elements > maxElements) {
    throw Error("ETOOBIG", "dataset " + quoted(path) + " declares more than " +
                               std::to_string(maxElements) + " elements");
  }
  shape.elements = elements;
  return shape;
}

void readFloat64(hid_t dset, const std::string& path, double* dst, const DataShape& shape) {
  if (shape.elements == 0) return;
  check(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst),
        "cannot read dataset " + quoted(path));
}

void createFloat64(hid_t file, const std::string& path, const double* data,
                   const std::vector<hsize_t>& dims) {
  Hid space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
            "cannot make a dataspace for " + quoted(path));
  Hid dset(H5Dcreate2(file, path.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           "cannot create dataset " + quoted(path));
  size_t elements = 1;
  for (hsize_t d : dims) elements *= static_cast<size_t>(d);
  if (elements > 0) {
    check(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
          "cannot write dataset " + quoted(path));
  }
}

void writeFloat64(hid_t file, const std::string& path, const double* data,
                  const std::vector<hsize_t>& dims) {
  Hid dset(H5Dopen2(file, path.c_str(), H5P_DEFAULT), "cannot open dataset " + quoted(path));
  DataShape shape = numericShape(dset, path, static_cast<size_t>(-1));
  if (shape.dims != dims) {
    throw Error("ESHAPE", "dataset " + quoted(path) + " has another shape than the data to write");
  }
  if (shape.elements > 0) {
    check(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
          "cannot write dataset " + quoted(path));
  }
}

void createGroup(hid_t file, const std::string& path) {
  Hid group(H5Gcreate2(file, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            "cannot create group " + quoted(path));
}

void copyObject(hid_t srcFile, const std::string& srcPath, hid_t dstFile, const std::string& dstPath) {
  check(H5Ocopy(srcFile, srcPath.c_str(), dstFile, dstPath.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        "cannot copy " + quoted(srcPath));
}

void moveLink(hid_t file, const std::string& from, const std::string& to) {
  check(H5Lmove(file, from.c_str(), file, to.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        "cannot move " + quoted(from) + " to " + quoted(to));
}

void deleteLink(hid_t file, const std::string& path) {
  check(H5Ldelete(file, path.c_str(), H5P_DEFAULT), "cannot delete " + quoted(path));
}

}  // namespace h5n
