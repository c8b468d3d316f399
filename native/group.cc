// Groups and links: listing, creating, moving, deleting, and what a path names.
#include <exception>

#include "binding.h"
#include "errors.h"
#include "file.h"

namespace h5n {

namespace {

enum Kind : int { KindGroup = 0, KindDataset = 1, KindDatatype = 2, KindOther = 3 };

int kindOf(H5O_type_t type) {
  return type == H5O_TYPE_GROUP ? KindGroup
         : type == H5O_TYPE_DATASET ? KindDataset
         : type == H5O_TYPE_NAMED_DATATYPE ? KindDatatype
                                           : KindOther;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

struct Listing {
  std::vector<std::string> names;
  std::vector<int> kinds;
  std::exception_ptr error;
};

herr_t listMember(hid_t group, const char* name, const H5L_info_t* info, void* data) {
  auto* out = static_cast<Listing*>(data);
  try {
    int kind = KindOther;  // soft, external and user-defined links are not followed
    if (info->type == H5L_TYPE_HARD) {
      H5O_info_t oinfo;
      check(H5Oget_info_by_name2(group, name, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT), "cannot inspect " + quoted(name));
      kind = kindOf(oinfo.type);
    }
    out->names.emplace_back(name);
    out->kinds.push_back(kind);
    return 0;
  } catch (...) {
    out->error = std::current_exception();  // exceptions must not unwind through libhdf5
    return -1;
  }
}

// groupList(file, path) -> [names, kinds] in increasing name order
Napi::Value GroupList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  Listing listing = guard(env, handle->path, [&] {
    Hid group = own(H5Gopen2(handle->fid, path.c_str(), H5P_DEFAULT), "cannot open group " + quoted(path));
    Listing out;
    hsize_t idx = 0;
    herr_t status = H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, listMember, &out);
    if (out.error) {
      H5Eclear2(H5E_DEFAULT);
      std::rethrow_exception(out.error);
    }
    check(status, "cannot list group " + quoted(path));
    return out;
  });
  Napi::Array names = Napi::Array::New(env, listing.names.size());
  Napi::Array kinds = Napi::Array::New(env, listing.kinds.size());
  for (uint32_t i = 0; i < listing.names.size(); ++i) {
    names.Set(i, Napi::String::New(env, listing.names[i]));
    kinds.Set(i, Napi::Number::New(env, listing.kinds[i]));
  }
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, names);
  pair.Set(1u, kinds);
  return pair;
}

// objectKind(file, path) -> kind, or -1 when no link of the path exists
Napi::Value ObjectKind(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  if (path.empty() || path == "/") return Napi::Number::New(info.Env(), KindGroup);
  quiet();
  // Every link on the way, so that a missing parent is "absent", not an error.
  for (size_t next = path.find('/', 1);; next = path.find('/', next + 1)) {
    std::string prefix = path.substr(0, next);
    if (!prefix.empty() && prefix != "/" && H5Lexists(handle->fid, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return Napi::Number::New(info.Env(), -1);
    }
    if (next == std::string::npos) break;
  }
  H5O_info_t oinfo;
  if (H5Oget_info_by_name2(handle->fid, path.c_str(), &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);  // a dangling soft or external link
    return Napi::Number::New(info.Env(), KindOther);
  }
  return Napi::Number::New(info.Env(), kindOf(oinfo.type));
}

Napi::Value GroupCreate(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  guard(info.Env(), handle->path, [&] {
    own(H5Gcreate2(handle->fid, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "cannot create group " + quoted(path));
  });
  return info.Env().Undefined();
}

Napi::Value LinkMove(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string from = stringArg(info, 1, "from");
  std::string to = stringArg(info, 2, "to");
  guard(info.Env(), handle->path, [&] {
    check(H5Lmove(handle->fid, from.c_str(), handle->fid, to.c_str(), H5P_DEFAULT, H5P_DEFAULT),
          "cannot move " + quoted(from) + " to " + quoted(to));
  });
  return info.Env().Undefined();
}

Napi::Value LinkDelete(const Napi::CallbackInfo& info) {
  FileHandle* handle = fileArg(info, 0);
  std::string path = stringArg(info, 1, "path");
  guard(info.Env(), handle->path,
        [&] { check(H5Ldelete(handle->fid, path.c_str(), H5P_DEFAULT), "cannot delete " + quoted(path)); });
  return info.Env().Undefined();
}

}  // namespace

void RegisterGroup(Napi::Env env, Napi::Object exports) {
  exports.Set("groupList", Napi::Function::New(env, GroupList, "groupList"));
  exports.Set("groupCreate", Napi::Function::New(env, GroupCreate, "groupCreate"));
  exports.Set("linkMove", Napi::Function::New(env, LinkMove, "linkMove"));
  exports.Set("linkDelete", Napi::Function::New(env, LinkDelete, "linkDelete"));
  exports.Set("objectKind", Napi::Function::New(env, ObjectKind, "objectKind"));
}

}  // namespace h5n
