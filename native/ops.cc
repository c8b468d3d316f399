#include "ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>

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

// ---------------------------------------------------------------------------
// Guards against libhdf5 1.10.8 crashing on damaged files.
//
// libhdf5 trusts two things it reads from a file that a damaged file gets
// wrong, and then reads or writes memory out of bounds, frees garbage, or
// loops forever (found by scripts/fuzz.ts; see docs/reliability.md):
//  1. Variable-length data (every string attribute h5py writes) lives in
//     global heap collections ("GCOL"). Reading it, H5HG_read copies the heap
//     object named by the value's heap ID into a buffer sized by the value's
//     own length, with only debug-build assertions that the object exists and
//     fits; the collection's parser trusts every object size in it (an object
//     of size 0 makes it loop forever).
//  2. H5Aiterate2 first builds a table of all attributes; when decoding one
//     attribute message fails, it frees the table's never-initialised
//     entries.
// So before libhdf5 touches a variable-length value we read the value's raw
// bytes (length and heap ID) through a no-op conversion to an opaque type,
// and check the collection ourselves, as libhdf5 parses it; and before
// iterating attributes we make libhdf5 decode every attribute message in a
// way that fails cleanly. Both checks throw ECORRUPT.

constexpr const char* kRawTag = "offspect-cachefile:raw-vlen";

// Conversion from any variable-length type (in the file) to our tagged opaque
// type of the same size: no conversion at all, so the reader gets the stored
// bytes: 4-byte length, heap collection address, 4-byte object index.
herr_t rawVlenConversion(hid_t src, hid_t dst, H5T_cdata_t* cdata, size_t, size_t, size_t, void*, void*, hid_t) {
  switch (cdata->command) {
    case H5T_CONV_INIT: {
      if (H5Tget_class(dst) != H5T_OPAQUE) return -1;
      char* tag = H5Tget_tag(dst);
      bool ours = tag != nullptr && std::strcmp(tag, kRawTag) == 0;
      if (tag) H5free_memory(tag);
      if (!ours || H5Tget_size(src) != H5Tget_size(dst)) return -1;
      cdata->need_bkg = H5T_BKG_NO;
      return 0;
    }
    case H5T_CONV_CONV:
    case H5T_CONV_FREE:
      return 0;
    default:
      return -1;
  }
}

void registerRawVlen() {
  static std::once_flag once;
  std::call_once(once, [] {
    hid_t vlen = H5Tcopy(H5T_C_S1);
    H5Tset_size(vlen, H5T_VARIABLE);
    hid_t opaque = H5Tcreate(H5T_OPAQUE, 16);
    H5Tset_tag(opaque, kRawTag);
    if (H5Tregister(H5T_PERS_SOFT, "offspect_cachefile_raw_vlen", vlen, opaque, rawVlenConversion) < 0) {
      H5Eclear2(H5E_DEFAULT);
    }
    H5Tclose(opaque);
    H5Tclose(vlen);
  });
}

uint64_t decodeLE(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i > 0; --i) v = (v << 8) | p[i - 1];
  return v;
}

// What the guard knows about one file: its geometry and the collections it
// has checked (object index -> size, or the reason the collection is bad).
struct HeapObject {
  uint64_t offset;  // of the object's data in the collection's bytes
  uint64_t size;
};
struct HeapCollection {
  std::map<uint32_t, HeapObject> objects;
  std::vector<unsigned char> bytes;  // the whole collection as read
};

// Bytes of parsed collections held by all HeapFiles (guarded by
// heapCacheMutex); past kHeapBudget the cached files' collections are dropped
// and parsed again when needed.
std::atomic<size_t> heapBytes{0};
constexpr size_t kHeapBudget = size_t(128) << 20;

struct HeapFile {
  uint64_t base = 0;
  size_t sizeofAddr = 8;
  size_t sizeofSize = 8;
  std::map<uint64_t, HeapCollection> collections;
  std::map<uint64_t, std::string> bad;
  size_t bytes = 0;
  void clear() {
    heapBytes -= bytes;
    bytes = 0;
    collections.clear();
  }
  ~HeapFile() { heapBytes -= bytes; }
};

// Files opened read-only do not change while open (libhdf5's lock keeps
// writers out), so what was learnt about them is kept across calls, keyed by
// the file's identity and stamp; a few files at most.
struct HeapFileKey {
  dev_t dev;
  ino_t ino;
  off_t size;
  int64_t mtimeNs;
  int64_t ctimeNs;
  bool operator<(const HeapFileKey& o) const {
    if (dev != o.dev) return dev < o.dev;
    if (ino != o.ino) return ino < o.ino;
    if (size != o.size) return size < o.size;
    if (mtimeNs != o.mtimeNs) return mtimeNs < o.mtimeNs;
    return ctimeNs < o.ctimeNs;
  }
};
std::mutex heapCacheMutex;
std::map<HeapFileKey, std::shared_ptr<HeapFile>>& heapCache() {
  static auto* cache = new std::map<HeapFileKey, std::shared_ptr<HeapFile>>();
  return *cache;
}

// The file behind an object, read directly (sec2 driver), to check global
// heap collections before libhdf5 parses them.
class HeapGuard {
 public:
  explicit HeapGuard(hid_t obj) {
    registerRawVlen();
    fid_ = Hid(H5Iget_file_id(obj));
    unsigned intent = 0;
    void* vfd = nullptr;
    if (!fid_.valid() || H5Fget_intent(fid_, &intent) < 0 || H5Fget_vfd_handle(fid_, H5P_DEFAULT, &vfd) < 0 ||
        vfd == nullptr) {
      H5Eclear2(H5E_DEFAULT);
      return;
    }
    writable_ = (intent & H5F_ACC_RDWR) != 0;
    struct stat st;
    HeapFileKey key{};
    if (!writable_) {
      // The cache only for read-only files; keyed by what a change would alter.
      if (fstat(*static_cast<int*>(vfd), &st) != 0) return;
      key = {st.st_dev, st.st_ino, st.st_size, int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
             int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
      std::lock_guard<std::mutex> lock(heapCacheMutex);
      auto it = heapCache().find(key);
      if (it != heapCache().end()) {
        file_ = it->second;
        fd_ = *static_cast<int*>(vfd);
        active_ = true;
        return;
      }
    }
    Hid fcpl(H5Fget_create_plist(fid_));
    Hid fapl(H5Fget_access_plist(fid_));
    size_t sa = 0, ss = 0;
    hsize_t userblock = 0;
    if (!fcpl.valid() || !fapl.valid() || H5Pget_sizes(fcpl, &sa, &ss) < 0 || H5Pget_userblock(fcpl, &userblock) < 0 ||
        H5Pget_driver(fapl) != H5FD_SEC2 || sa > 8 || ss > 8 || sa == 0 || ss == 0) {
      H5Eclear2(H5E_DEFAULT);
      return;
    }
    file_ = std::make_shared<HeapFile>();
    file_->base = userblock;
    file_->sizeofAddr = sa;
    file_->sizeofSize = ss;
    fd_ = *static_cast<int*>(vfd);
    active_ = true;
    if (!writable_) {
      std::lock_guard<std::mutex> lock(heapCacheMutex);
      auto& cache = heapCache();
      if (cache.size() >= 8) cache.erase(cache.begin());
      cache[key] = file_;
    }
  }

  bool active() const { return active_; }

  // Size of one stored variable-length value: length, heap address, index.
  size_t elementSize() const { return 4 + file_->sizeofAddr + 4; }

  // The opaque type that reads stored variable-length values unconverted.
  hid_t rawType() {
    if (!rawType_.valid()) {
      rawType_ = Hid(H5Tcreate(H5T_OPAQUE, elementSize()), "cannot make an opaque type");
      h5n::check(H5Tset_tag(rawType_, kRawTag), "cannot make an opaque type");
    }
    return rawType_;
  }

  // Checks `n` raw values as read by readRawVlen(); `baseSize` is the size of
  // one element of a sequence (1 for strings). Throws ECORRUPT.
  void check(const unsigned char* raw, size_t n, size_t baseSize, const std::string& where) {
    try {
      checkOnce(raw, n, baseSize, where);
    } catch (const Error&) {
      // A file open for writing may hold newer heap objects in libhdf5's cache
      // than on disk: flush once, then judge what is on disk.
      if (!writable_ || flushed_) throw;
      flushed_ = true;
      if (H5Fflush(fid_, H5F_SCOPE_LOCAL) < 0) throwStack("cannot flush before reading " + where);
      std::lock_guard<std::mutex> lock(heapCacheMutex);
      file_->clear();
      file_->bad.clear();
      checkOnceLocked(raw, n, baseSize, where);
    }
  }

  // For a file open read-only: the string value whose raw stored bytes
  // (one element, as read by readRawVlen) are `raw`, checked as check() does
  // and copied straight from the parsed collection, as libhdf5 would convert
  // it (up to the first NUL). Returns false when this guard cannot (a file
  // open for writing, whose newest heap objects may be in libhdf5's cache).
  bool readString(const unsigned char* raw, const std::string& where, std::string& out) {
    if (!active_ || writable_) return false;
    std::lock_guard<std::mutex> lock(heapCacheMutex);
    checkOnceLocked(raw, 1, 1, where);
    const size_t sa = file_->sizeofAddr;
    uint64_t length = decodeLE(raw, 4);
    uint64_t addr = decodeLE(raw + 4, sa);
    if (addr == 0) {
      out.clear();
      return true;
    }
    uint32_t index = static_cast<uint32_t>(decodeLE(raw + 4 + sa, 4));
    const Collection& c = load(addr, where);
    const HeapObject& o = c.objects.at(index);
    const char* data = reinterpret_cast<const char*>(c.bytes.data() + o.offset);
    out.assign(data, strnlen(data, static_cast<size_t>(length)));
    return true;
  }

 private:
  using Collection = HeapCollection;

  [[noreturn]] static void corrupt(const std::string& where, const std::string& why) {
    throw Error("ECORRUPT", where + " is unreadable: " + why);
  }

  void checkOnce(const unsigned char* raw, size_t n, size_t baseSize, const std::string& where) {
    std::lock_guard<std::mutex> lock(heapCacheMutex);
    checkOnceLocked(raw, n, baseSize, where);
  }

  void checkOnceLocked(const unsigned char* raw, size_t n, size_t baseSize, const std::string& where) {
    const size_t step = elementSize();
    const size_t sa = file_->sizeofAddr;
    for (size_t i = 0; i < n; ++i) {
      const unsigned char* p = raw + i * step;
      uint64_t length = decodeLE(p, 4);
      uint64_t addr = decodeLE(p + 4, sa);
      uint64_t index = decodeLE(p + 4 + sa, 4);
      if (addr == 0) continue;  // a null value: libhdf5 reads nothing
      const Collection& c = load(addr, where);
      auto it = c.objects.find(static_cast<uint32_t>(index));
      if (index == 0 || it == c.objects.end()) {
        corrupt(where, "its value refers to global heap object " + std::to_string(index) + " at address " +
                           std::to_string(addr) + ", which does not exist");
      }
      if (it->second.size != length * baseSize) {
        corrupt(where, "its value has length " + std::to_string(length) + " but its global heap object holds " +
                           std::to_string(it->second.size) + " bytes");
      }
    }
  }

  bool readAt(uint64_t offset, unsigned char* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t got = pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      done += static_cast<size_t>(got);
    }
    return true;
  }

  // Parses the collection at `addr` as H5HG__cache_heap_deserialize does,
  // rejecting what would make it read past the collection or loop forever.
  const Collection& load(uint64_t addr, const std::string& where) {
    auto found = file_->collections.find(addr);
    if (found != file_->collections.end()) return found->second;
    auto bad = file_->bad.find(addr);
    if (bad != file_->bad.end()) corrupt(where, bad->second);
    try {
      Collection parsed = parse(addr);
      if (heapBytes + parsed.bytes.size() > kHeapBudget) {
        for (auto& entry : heapCache()) entry.second->clear();
        file_->clear();
      }
      file_->bytes += parsed.bytes.size();
      heapBytes += parsed.bytes.size();
      return file_->collections.emplace(addr, std::move(parsed)).first->second;
    } catch (const std::string& why) {
      file_->bad[addr] = why;
      corrupt(where, why);
    }
  }

  Collection parse(uint64_t addr) {
    const std::string at = "the global heap collection at address " + std::to_string(addr);
    const uint64_t base = file_->base;
    const size_t ss = file_->sizeofSize;
    struct stat st;
    if (fstat(fd_, &st) != 0) throw std::string("cannot stat the file");
    const uint64_t eof = static_cast<uint64_t>(st.st_size);
    const uint64_t minSize = 4096;  // H5HG_MINSIZE: libhdf5 reads this much first
    if (addr > eof || base + addr > eof || eof - (base + addr) < minSize) throw at + " lies past the end of the file";
    const size_t header = (4 + 1 + 3 + ss + 7) / 8 * 8;  // H5HG_SIZEOF_HDR
    const size_t objHeader = 2 + 2 + 4 + ss;             // H5HG_SIZEOF_OBJHDR
    std::vector<unsigned char> head(header);
    if (!readAt(base + addr, head.data(), header)) throw "cannot read " + at;
    if (std::memcmp(head.data(), "GCOL", 4) != 0) throw at + " has no GCOL signature";
    if (head[4] != 1) throw at + " has version " + std::to_string(head[4]) + ", expected 1";
    const uint64_t size = decodeLE(head.data() + 8, ss);
    if (size < minSize || size > (uint64_t(1) << 30) || size > eof - (base + addr)) {
      throw at + " declares " + std::to_string(size) + " bytes, which the file does not hold";
    }
    std::vector<unsigned char> chunk(static_cast<size_t>(size));
    if (!readAt(base + addr, chunk.data(), chunk.size())) throw "cannot read " + at;
    Collection objects;
    uint64_t p = header;
    while (p < size) {
      if (p + objHeader > size) break;  // too small for an object header: free space
      const unsigned char* o = chunk.data() + p;
      const uint32_t index = static_cast<uint32_t>(decodeLE(o, 2));
      const uint64_t osize = decodeLE(o + 8, ss);
      uint64_t need;
      if (index > 0) {
        if (osize > size) throw at + " holds object " + std::to_string(index) + " larger than the collection";
        need = objHeader + (osize + 7) / 8 * 8;
      } else {
        need = osize;  // free space, its header included
      }
      if (need == 0 || need > size - p) {
        throw at + " holds an object of " + std::to_string(osize) + " bytes at offset " + std::to_string(p) +
            " that does not fit";
      }
      if (index > 0) objects.objects[index] = HeapObject{p + objHeader, osize};
      p += need;
    }
    objects.bytes = std::move(chunk);
    return objects;
  }

  Hid fid_;
  Hid rawType_;
  int fd_ = -1;
  bool writable_ = false;
  bool flushed_ = false;
  bool active_ = false;
  std::shared_ptr<HeapFile> file_;
};

// The raw stored bytes of `n` variable-length values of an attribute (or,
// with `dataset`, a dataset), through the no-op conversion above.
std::vector<unsigned char> readRawVlen(HeapGuard& guard, hid_t obj, bool dataset, size_t n, const std::string& where) {
  std::vector<unsigned char> raw(n * guard.elementSize());
  if (n == 0) return raw;
  hid_t opaque = guard.rawType();
  herr_t status = dataset ? H5Dread(obj, opaque, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) : H5Aread(obj, opaque, raw.data());
  check(status, "cannot read " + where);
  return raw;
}

// Checks the variable-length values of an open attribute before libhdf5
// converts them. `type` is its file type.
// Returns the values' raw stored bytes (empty when the guard is inactive).
std::vector<unsigned char> checkVlenAttr(HeapGuard& guard, hid_t attr, hid_t type, hid_t space, const std::string& where) {
  if (!guard.active()) return {};
  hssize_t points = H5Sget_simple_extent_npoints(space);
  if (points < 0) throwStack("cannot read the shape of " + where);
  // Size of one element of the sequence; libhdf5 allocates length x this.
  Hid super(H5Tget_super(type), "cannot read the type of " + where);
  size_t base = H5Tget_size(super);
  if (H5Tget_class(type) == H5T_STRING && base != 1) {
    throw Error("ECORRUPT", where + " is unreadable: its string type declares characters of " + std::to_string(base) + " bytes");
  }
  if (base == 0) throwStack("cannot read the type of " + where);
  std::vector<unsigned char> raw = readRawVlen(guard, attr, false, static_cast<size_t>(points), where);
  guard.check(raw.data(), static_cast<size_t>(points), base, where);
  return raw;
}

herr_t countAttr(hid_t, const char*, const H5A_info_t*, void* data) {
  ++*static_cast<hsize_t*>(data);
  return 0;
}

// Makes libhdf5 decode every attribute message of `obj` through paths that
// fail cleanly (H5Aexists of a name that is never there, then a native-order
// iteration), and checks the count, so that building the attribute table in
// H5Aiterate2 cannot fail half-way (see above).
void checkAttrsDecodable(hid_t obj, const std::string& objPath) {
  const std::string what = "cannot read the attributes of " + quoted(objPath);
  // (Not H5O_INFO_HDR: summarising a damaged header's messages crashes libhdf5.)
  H5O_info_t info;
  if (H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS) < 0) throwStack(what);
  if (info.num_attrs == 0) return;
  // Compact storage (every attribute a message in the object header):
  // looking up a name that is never there decodes them all, failing cleanly.
  if (H5Aexists(obj, "\x01offspect-cachefile: no such attribute") < 0) throwStack(what);
  // Dense storage (version 2 headers): a native-order iteration walks the
  // name index without building a table; for compact storage it builds the
  // table from the messages just decoded.
  hsize_t idx = 0, counted = 0;
  if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, countAttr, &counted) < 0) throwStack(what);
  if (info.num_attrs != counted) {
    throw Error("ECORRUPT", what + ": the object header counts " + std::to_string(info.num_attrs) +
                                " attributes but holds " + std::to_string(counted));
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

std::string readOneString(hid_t obj, const std::string& objPath, const char* name, bool* standard, HeapGuard& guard) {
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
  bool read = false;
  if (variable && guard.active()) {
    // Checked, and for read-only files copied from the parsed heap collection
    // (one read of the stored bytes instead of a second, converting one).
    std::vector<unsigned char> raw = checkVlenAttr(guard, attr, ftype, space, where);
    read = guard.readString(raw.data(), where, value);
  }
  if (variable && !read) {
    Hid mtype(H5Tcopy(H5T_C_S1), "cannot make a string type");
    check(H5Tset_size(mtype, H5T_VARIABLE), "cannot make a string type");
    check(H5Tset_cset(mtype, cset), "cannot make a string type");
    char* buffer = nullptr;
    check(H5Aread(attr, mtype, &buffer), "cannot read " + where);
    if (buffer) value.assign(buffer);
    H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, &buffer);
  } else if (!variable) {
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
  HeapGuard* guard;
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
    std::string value = readOneString(obj, *ctx->objPath, name, ctx->nonStandard ? &standard : nullptr, *ctx->guard);
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
  checkAttrsDecodable(obj, objPath);
  HeapGuard guard(obj);
  AttrContext ctx{&objPath, &out, nonStandard, &guard, 0, nullptr};
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

namespace {

// Reserves disk blocks past the end of the file for what writing `bytes` of
// attribute text can add (heap collections, header chunks), without changing
// the file's size. On a full disk this fails before anything is written:
// otherwise libhdf5 would flush an object header that refers to a heap
// collection it then cannot write, and the attribute would be lost.
void reserveSpace(hid_t obj, size_t bytes, const std::string& objPath) {
  Hid fid(H5Iget_file_id(obj));
  void* vfd = nullptr;
  if (!fid.valid() || H5Fget_vfd_handle(fid, H5P_DEFAULT, &vfd) < 0 || vfd == nullptr) {
    H5Eclear2(H5E_DEFAULT);
    return;
  }
  Hid fapl(H5Fget_access_plist(fid));
  if (!fapl.valid() || H5Pget_driver(fapl) != H5FD_SEC2) {
    H5Eclear2(H5E_DEFAULT);
    return;
  }
  int fd = *static_cast<int*>(vfd);
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  const off_t need = static_cast<off_t>(2 * bytes + 64 * 1024);
  int rc;
  do {
    rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, need);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return;
  if (errno == ENOSPC || errno == EDQUOT) {
    throw Error("ENOSPC", "cannot write the attributes of " + quoted(objPath) + ": errno = 28, no space left on device for " +
                              std::to_string(need) + " bytes; nothing was written");
  }
  // Not supported here (some file systems): write without the reservation.
}

}  // namespace

void writeStringAttrs(hid_t obj, const std::string& objPath,
                      const std::vector<std::pair<std::string, std::string>>& attrs) {
  size_t bytes = 0;
  for (const auto& [name, value] : attrs) bytes += name.size() + value.size() + 64;
  reserveSpace(obj, bytes, objPath);
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

// Contiguous data must lie inside the file: a damaged address or size makes
// libhdf5 read (or H5Ocopy write) gigabytes of nothing, for minutes.
void checkStorageInFile(hid_t dset, const std::string& path) {
  haddr_t offset = H5Dget_offset(dset);
  if (offset == HADDR_UNDEF) {
    H5Eclear2(H5E_DEFAULT);
    return;  // chunked, compact, or not allocated
  }
  hsize_t size = H5Dget_storage_size(dset);
  Hid file(H5Iget_file_id(dset), "cannot read the file of " + quoted(path));
  hsize_t fileSize = 0;
  check(H5Fget_filesize(file, &fileSize), "cannot read the size of the file of " + quoted(path));
  if (offset > fileSize || size > fileSize - offset) {
    throw Error("ECORRUPT", "dataset " + quoted(path) + " is damaged: its " + std::to_string(size) +
                                " bytes at address " + std::to_string(offset) + " lie past the end of the file (" +
                                std::to_string(fileSize) + " bytes)");
  }
}

DataShape numericShape(hid_t dset, const std::string& path, size_t maxElements) {
  Hid type(H5Dget_type(dset), "cannot read the type of " + quoted(path));
  H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
    throw Error("EDTYPE", "dataset " + quoted(path) + " holds " + className(cls) + " data, not numbers");
  }
  size_t typeSize = H5Tget_size(type);
  if (typeSize == 0 || typeSize > 16) {
    // No integer or float type is wider; a damaged size makes every conversion crawl.
    throw Error("ECORRUPT", "dataset " + quoted(path) + " is damaged: it declares numbers of " + std::to_string(typeSize) + " bytes");
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
  std::vector<hsize_t> maxDims(static_cast<size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, shape.dims.data(), maxDims.data()) < 0) {
    throwStack("cannot read the shape of " + quoted(path));
  }
  for (size_t i = 0; i < shape.dims.size(); ++i) {
    // A size beyond the declared maximum is damage (libhdf5 would read it,
    // chunk after missing chunk of fill values, for minutes).
    if (maxDims[i] != H5S_UNLIMITED && shape.dims[i] > maxDims[i]) {
      throw Error("ECORRUPT", "dataset " + quoted(path) + " is damaged: its dimension " + std::to_string(i) + " is " +
                                  std::to_string(shape.dims[i]) + ", more than its maximum " + std::to_string(maxDims[i]));
    }
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
  checkStorageInFile(dset, path);
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

namespace {

// Whether a file type holds variable-length or reference data anywhere.
bool holdsHeapData(hid_t type) {
  return H5Tdetect_class(type, H5T_VLEN) > 0 || H5Tdetect_class(type, H5T_REFERENCE) > 0 ||
         (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0);
}

// Whether a file type is a variable-length string (of any shape of values).
bool isVlenString(hid_t type) { return H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0; }

struct CopyCheck {
  std::string root;
  std::exception_ptr error;
};

// A chunked dataset is read whole through libhdf5 before H5Ocopy copies it:
// H5Ocopy walks its chunk index and filter pipeline through paths that crash
// on damage (SIGSEGV/double free in 1.10.8), where a read fails cleanly.
// Contiguous data is copied as bytes and needs no such check.
void readChunkedThrough(hid_t dset, hid_t ftype, const std::string& path) {
  Hid plist(H5Dget_create_plist(dset), "cannot read the layout of " + quoted(path));
  if (H5Pget_layout(plist) != H5D_CHUNKED) return;
  H5T_class_t cls = H5Tget_class(ftype);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) return;  // numeric traces are what CacheFiles hold
  Hid space(H5Dget_space(dset), "cannot read the shape of " + quoted(path));
  hssize_t points = H5Sget_simple_extent_npoints(space);
  if (points < 0) throwStack("cannot read the shape of " + quoted(path));
  if (static_cast<uint64_t>(points) > (uint64_t(1) << 27)) {
    throw Error("ETOOBIG", "dataset " + quoted(path) + " holds too many values to copy");
  }
  std::vector<double> scratch(static_cast<size_t>(points));
  check(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, scratch.data()),
        "cannot read dataset " + quoted(path));
}

// Checks one object below a copy's source for what H5Ocopy would crash on:
// undecodable attribute messages and variable-length values that refer to
// damaged global heap objects. Other variable-length or reference data is
// refused: H5Ocopy reads it through the same unchecked paths.
void checkCopyable(hid_t obj, const std::string& path) {
  checkAttrsDecodable(obj, path);
  HeapGuard guard(obj);
  H5O_info_t info;
  check(H5Oget_info2(obj, &info, H5O_INFO_BASIC), "cannot inspect " + quoted(path));
  struct Ctx {
    HeapGuard* guard;
    const std::string* path;
    std::exception_ptr error;
  } ctx{&guard, &path, nullptr};
  hsize_t idx = 0;
  herr_t status = H5Aiterate2(
      obj, H5_INDEX_NAME, H5_ITER_NATIVE, &idx,
      [](hid_t o, const char* name, const H5A_info_t*, void* data) -> herr_t {
        auto* c = static_cast<Ctx*>(data);
        try {
          const std::string where = "attribute " + quoted(name) + " of " + quoted(*c->path);
          Hid attr(H5Aopen(o, name, H5P_DEFAULT), "cannot open " + where);
          Hid type(H5Aget_type(attr), "cannot read the type of " + where);
          if (!holdsHeapData(type)) return 0;
          if (!isVlenString(type)) {
            throw Error("ECOPYTYPE", where + " holds variable-length or reference data, which cannot be copied");
          }
          Hid space(H5Aget_space(attr), "cannot read the shape of " + where);
          checkVlenAttr(*c->guard, attr, type, space, where);
          return 0;
        } catch (...) {
          c->error = std::current_exception();
          return -1;
        }
      },
      &ctx);
  if (ctx.error) {
    H5Eclear2(H5E_DEFAULT);
    std::rethrow_exception(ctx.error);
  }
  check(status, "cannot read the attributes of " + quoted(path));
  if (info.type != H5O_TYPE_DATASET) return;
  Hid type(H5Dget_type(obj), "cannot read the type of " + quoted(path));
  checkStorageInFile(obj, path);
  readChunkedThrough(obj, type, path);
  if (!holdsHeapData(type)) return;
  const std::string where = "dataset " + quoted(path);
  if (!isVlenString(type)) throw Error("ECOPYTYPE", where + " holds variable-length or reference data, which cannot be copied");
  if (!guard.active()) return;
  Hid space(H5Dget_space(obj), "cannot read the shape of " + where);
  hssize_t points = H5Sget_simple_extent_npoints(space);
  if (points < 0) throwStack("cannot read the shape of " + where);
  if (static_cast<uint64_t>(points) > (uint64_t(1) << 24)) throw Error("ETOOBIG", where + " holds too many strings to copy");
  std::vector<unsigned char> raw = readRawVlen(guard, obj, true, static_cast<size_t>(points), where);
  guard.check(raw.data(), static_cast<size_t>(points), 1, where);
}

herr_t visitForCopy(hid_t obj, const char* name, const H5O_info_t* info, void* data) {
  auto* ctx = static_cast<CopyCheck*>(data);
  try {
    if (info->type != H5O_TYPE_GROUP && info->type != H5O_TYPE_DATASET) return 0;
    const std::string path = std::strcmp(name, ".") == 0 ? ctx->root : ctx->root + "/" + name;
    Hid child(H5Oopen(obj, name, H5P_DEFAULT), "cannot open " + quoted(path));
    checkCopyable(child, path);
    return 0;
  } catch (...) {
    ctx->error = std::current_exception();
    return -1;
  }
}

}  // namespace

void copyObject(hid_t srcFile, const std::string& srcPath, hid_t dstFile, const std::string& dstPath,
                hid_t copyPlist) {
  {
    Hid src(H5Oopen(srcFile, srcPath.c_str(), H5P_DEFAULT), "cannot open " + quoted(srcPath));
    CopyCheck ctx{srcPath, nullptr};
    herr_t status = H5Ovisit2(src, H5_INDEX_NAME, H5_ITER_NATIVE, visitForCopy, &ctx, H5O_INFO_BASIC);
    if (ctx.error) {
      H5Eclear2(H5E_DEFAULT);
      std::rethrow_exception(ctx.error);
    }
    check(status, "cannot copy " + quoted(srcPath));
  }
  check(H5Ocopy(srcFile, srcPath.c_str(), dstFile, dstPath.c_str(), copyPlist, H5P_DEFAULT),
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
