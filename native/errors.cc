#include "errors.h"

#include <string.h>

#include <mutex>
#include <utility>

namespace h5n {

namespace {

// libhdf5's error numbers (H5Epubgen.h, 1.10), named; compared by value.
#define H5N_ERROR_NUMBERS(X)                                                                                      \
  X(H5E_FUNC) X(H5E_FILE) X(H5E_SOHM) X(H5E_SYM) X(H5E_PLUGIN) X(H5E_VFL) X(H5E_INTERNAL) X(H5E_BTREE)              \
  X(H5E_REFERENCE) X(H5E_DATASPACE) X(H5E_RESOURCE) X(H5E_RS) X(H5E_FARRAY) X(H5E_HEAP) X(H5E_ATTR) X(H5E_IO)       \
  X(H5E_EFL) X(H5E_TST) X(H5E_PAGEBUF) X(H5E_FSPACE) X(H5E_DATASET) X(H5E_STORAGE) X(H5E_LINK) X(H5E_PLIST)          \
  X(H5E_DATATYPE) X(H5E_OHDR) X(H5E_NONE_MAJOR) X(H5E_SLIST) X(H5E_ARGS) X(H5E_CONTEXT) X(H5E_EARRAY)                \
  X(H5E_PLINE) X(H5E_ERROR) X(H5E_CACHE) X(H5E_SEEKERROR) X(H5E_READERROR) X(H5E_WRITEERROR) X(H5E_CLOSEERROR)     \
  X(H5E_OVERFLOW) X(H5E_FCNTL) X(H5E_NOSPACE) X(H5E_CANTALLOC) X(H5E_CANTCOPY) X(H5E_CANTFREE)                      \
  X(H5E_ALREADYEXISTS) X(H5E_CANTLOCK) X(H5E_CANTUNLOCK) X(H5E_CANTGC) X(H5E_CANTGETSIZE) X(H5E_OBJOPEN)             \
  X(H5E_CANTRESTORE) X(H5E_CANTCOMPUTE) X(H5E_CANTEXTEND) X(H5E_CANTATTACH) X(H5E_CANTUPDATE) X(H5E_CANTOPERATE)    \
  X(H5E_CANTINIT) X(H5E_ALREADYINIT) X(H5E_CANTRELEASE) X(H5E_CANTGET) X(H5E_CANTSET) X(H5E_DUPCLASS)               \
  X(H5E_SETDISALLOWED) X(H5E_CANTMERGE) X(H5E_CANTREVIVE) X(H5E_CANTSHRINK) X(H5E_LINKCOUNT) X(H5E_VERSION)         \
  X(H5E_ALIGNMENT) X(H5E_BADMESG) X(H5E_CANTDELETE) X(H5E_BADITER) X(H5E_CANTPACK) X(H5E_CANTRESET)                 \
  X(H5E_CANTRENAME) X(H5E_SYSERRSTR) X(H5E_NOFILTER) X(H5E_CALLBACK) X(H5E_CANAPPLY) X(H5E_SETLOCAL)                \
  X(H5E_NOENCODER) X(H5E_CANTFILTER) X(H5E_CANTOPENOBJ) X(H5E_CANTCLOSEOBJ) X(H5E_COMPLEN) X(H5E_PATH)              \
  X(H5E_NONE_MINOR) X(H5E_OPENERROR) X(H5E_FILEEXISTS) X(H5E_FILEOPEN) X(H5E_CANTCREATE) X(H5E_CANTOPENFILE)        \
  X(H5E_CANTCLOSEFILE) X(H5E_NOTHDF5) X(H5E_BADFILE) X(H5E_TRUNCATED) X(H5E_MOUNT) X(H5E_CANTLOCKFILE)              \
  X(H5E_CANTUNLOCKFILE) X(H5E_BADGROUP) X(H5E_CANTREGISTER) X(H5E_CANTINC) X(H5E_CANTDEC) X(H5E_NOIDS)              \
  X(H5E_CANTFLUSH) X(H5E_CANTUNSERIALIZE) X(H5E_CANTSERIALIZE) X(H5E_CANTTAG) X(H5E_CANTLOAD) X(H5E_PROTECT)        \
  X(H5E_NOTCACHED) X(H5E_SYSTEM) X(H5E_CANTINS) X(H5E_CANTPROTECT) X(H5E_CANTUNPROTECT) X(H5E_CANTPIN)              \
  X(H5E_CANTUNPIN) X(H5E_CANTMARKDIRTY) X(H5E_CANTMARKCLEAN) X(H5E_CANTMARKUNSERIALIZED)                            \
  X(H5E_CANTMARKSERIALIZED) X(H5E_CANTDIRTY) X(H5E_CANTCLEAN) X(H5E_CANTEXPUNGE) X(H5E_CANTRESIZE)                  \
  X(H5E_CANTDEPEND) X(H5E_CANTUNDEPEND) X(H5E_CANTNOTIFY) X(H5E_LOGGING) X(H5E_LOGFAIL) X(H5E_CANTCORK)             \
  X(H5E_CANTUNCORK) X(H5E_TRAVERSE) X(H5E_NLINKS) X(H5E_NOTREGISTERED) X(H5E_CANTMOVE) X(H5E_CANTSORT)              \
  X(H5E_MPI) X(H5E_MPIERRSTR) X(H5E_CANTRECV) X(H5E_CANTGATHER) X(H5E_NO_INDEPENDENT) X(H5E_CANTCLIP)               \
  X(H5E_CANTCOUNT) X(H5E_CANTSELECT) X(H5E_CANTNEXT) X(H5E_BADSELECT) X(H5E_CANTCOMPARE)                            \
  X(H5E_INCONSISTENTSTATE) X(H5E_CANTAPPEND) X(H5E_UNINITIALIZED) X(H5E_UNSUPPORTED) X(H5E_BADTYPE)                 \
  X(H5E_BADRANGE) X(H5E_BADVALUE) X(H5E_NOTFOUND) X(H5E_EXISTS) X(H5E_CANTENCODE) X(H5E_CANTDECODE)                 \
  X(H5E_CANTSPLIT) X(H5E_CANTREDISTRIBUTE) X(H5E_CANTSWAP) X(H5E_CANTINSERT) X(H5E_CANTLIST) X(H5E_CANTMODIFY)      \
  X(H5E_CANTREMOVE) X(H5E_CANTCONVERT) X(H5E_BADSIZE)

const std::vector<std::pair<hid_t, const char*>>& errorNumbers() {
  static std::vector<std::pair<hid_t, const char*>> table;
  static std::once_flag once;
  std::call_once(once, [] {
    H5open();
#define H5N_ENTRY(name) table.emplace_back(name, #name);
    H5N_ERROR_NUMBERS(H5N_ENTRY)
#undef H5N_ENTRY
    // Identifiers were "atoms" until 1.12.
#ifdef H5E_ATOM
    table.emplace_back(H5E_ATOM, "H5E_ATOM");
    table.emplace_back(H5E_BADATOM, "H5E_BADATOM");
#endif
#ifdef H5E_ID
    table.emplace_back(H5E_ID, "H5E_ID");
    table.emplace_back(H5E_BADID, "H5E_BADID");
#endif
  });
  return table;
}

const char* errorName(hid_t number) {
  for (const auto& [value, name] : errorNumbers()) {
    if (value == number) return name;
  }
  return "";  // pushed by another error class (a plugin)
}

herr_t collect(unsigned, const H5E_error2_t* err, void* data) {
  auto* frames = static_cast<std::vector<Frame>*>(data);
  frames->push_back(Frame{err->func_name ? err->func_name : "", err->desc ? err->desc : "", errorName(err->maj_num),
                          errorName(err->min_num)});
  return 0;
}

// The one errno table.
#define H5N_ERRNOS(X)                                                                                              \
  X(EPERM) X(ENOENT) X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(EBADF) X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT) X(EBUSY)    \
  X(EEXIST) X(EXDEV) X(ENODEV) X(ENOTDIR) X(EISDIR) X(EINVAL) X(ENFILE) X(EMFILE) X(ETXTBSY) X(EFBIG) X(ENOSPC)    \
  X(ESPIPE) X(EROFS) X(EMLINK) X(ENAMETOOLONG) X(ENOLCK) X(ENOSYS) X(ELOOP) X(EOVERFLOW) X(EOPNOTSUPP)             \
  X(ETIMEDOUT) X(ESTALE) X(EDQUOT) X(ECANCELED)

struct Instance {
  Napi::FunctionReference factory;
};

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "expected a function");
  auto* instance = info.Env().GetInstanceData<Instance>();
  instance->factory = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

}  // namespace

void quiet() {
  thread_local bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

void throwStack(const std::string& what) {
  Failure f;
  f.kind = Kind::Hdf5;
  f.errnum = errno;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &f.frames);
  H5Eclear2(H5E_DEFAULT);
  f.message = what;
  if (!f.frames.empty()) {
    const std::string& top = f.frames.front().desc;
    const std::string& bottom = f.frames.back().desc;
    f.message += ": " + top;
    if (f.frames.size() > 1 && bottom != top) f.message += " (" + bottom + ")";
  }
  throw Error(std::move(f));
}

void fail(const char* code, const std::string& message) {
  Failure f;
  f.code = code;
  f.message = message;
  throw Error(std::move(f));
}

void failSystem(int err, const char* syscall, const std::string& message) {
  Failure f;
  f.kind = Kind::System;
  f.errnum = err;
  f.syscall = syscall;
  f.message = message;
  throw Error(std::move(f));
}

std::string errnoName(int err) {
  switch (err) {
    case 0: return "";
#define H5N_CASE(name) \
  case name:           \
    return #name;
    H5N_ERRNOS(H5N_CASE)
#undef H5N_CASE
    default: return "E" + std::to_string(err);
  }
}

Napi::Value toJs(Napi::Env env, const Failure& f) {
  Napi::Object details = Napi::Object::New(env);
  details.Set("kind", f.kind == Kind::Hdf5 ? "hdf5" : f.kind == Kind::Check ? "check" : "system");
  details.Set("message", f.message);
  if (!f.code.empty()) details.Set("code", f.code);
  if (f.kind != Kind::Check && f.errnum != 0) details.Set("errno", errnoName(f.errnum));
  if (!f.syscall.empty()) details.Set("syscall", f.syscall);
  if (!f.file.empty()) details.Set("file", f.file);
  if (f.kind == Kind::Hdf5) {
    Napi::Array frames = Napi::Array::New(env, f.frames.size());
    for (uint32_t i = 0; i < f.frames.size(); ++i) {
      Napi::Object frame = Napi::Object::New(env);
      frame.Set("func", f.frames[i].func);
      frame.Set("desc", f.frames[i].desc);
      frame.Set("major", f.frames[i].major);
      frame.Set("minor", f.frames[i].minor);
      frames.Set(i, frame);
    }
    details.Set("frames", frames);
  }
  auto* instance = env.GetInstanceData<Instance>();
  if (instance != nullptr && !instance->factory.IsEmpty()) return instance->factory.Call({details});
  // No factory yet: a plain Error carrying the details.
  Napi::Object error = Napi::Error::New(env, f.message).Value();
  for (const char* key : {"kind", "code", "errno", "syscall", "file", "frames"}) {
    if (details.Has(key)) error.Set(key, details.Get(key));
  }
  return error;
}

void RegisterErrors(Napi::Env env, Napi::Object exports) {
  errorNumbers();  // built here, not first inside an error-stack walk
  env.SetInstanceData(new Instance());
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory"));
}

}  // namespace h5n
