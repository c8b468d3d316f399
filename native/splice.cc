// Splicing HDF5 files at the byte level (see splice.h). The parser reads a
// source with pread under a shared flock, checks every structure it meets
// against the file's end and against every other structure (no overlaps, so
// no cycles and no address is relocated twice), and collects the file
// positions of every address to relocate. Copying then streams the source in
// bounded chunks and adds the source's offset in the target at each of those
// positions on the way.
#include "splice.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "binding_util.h"
#include "file.h"
#include "h5util.h"
#include "ops.h"

namespace h5n {

namespace {

constexpr uint64_t kUndef = ~uint64_t{0};
constexpr unsigned kLeafK = 4;       // symbol table node: 2K entries
constexpr unsigned kInternalK = 16;  // group B-tree node: 2K children
constexpr uint64_t kNodeSize = 24 + 2 * kInternalK * 8 + (2 * kInternalK + 1) * 8;  // 544
constexpr uint64_t kEntrySize = 40;
constexpr uint64_t kSnodSize = 8 + 2 * kLeafK * kEntrySize;  // 328
constexpr uint64_t kSuperblockSize = 96;
constexpr uint64_t kHeapHeaderSize = 32;
constexpr uint64_t kHeapFreeNull = 1;
constexpr uint64_t kMinCollection = 4096;
constexpr size_t kCopyChunk = size_t{4} << 20;
constexpr uint64_t kSourceAlign = 4096;

// Caps against hostile files (each far beyond what real files hold).
constexpr int kMaxNesting = 64;
constexpr int kMaxTreeLevel = 32;
constexpr size_t kMaxObjects = size_t{1} << 20;
constexpr uint64_t kMaxChunk = uint64_t{16} << 20;
constexpr size_t kMaxChunks = 4096;
constexpr uint64_t kMaxLocalHeap = uint64_t{64} << 20;
constexpr uint64_t kMaxGlobalHeaps = uint64_t{256} << 20;

const uint8_t kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

// Thrown inside the parser; becomes SpliceReport::reason. Unsupported: a
// feature outside the subset (libhdf5 can copy the file). Damaged: bytes
// that contradict the format (addresses outside the file, structures running
// past their end or overlapping, broken heaps), which libhdf5 may fail on or
// even crash on.
struct Unsupported {
  std::string reason;
};
struct Damaged {
  std::string reason;
};

[[noreturn]] void unsupported(std::string reason) { throw Unsupported{std::move(reason)}; }
[[noreturn]] void damaged(std::string reason) { throw Damaged{std::move(reason)}; }

std::string at(uint64_t addr) { return "at address " + std::to_string(addr); }

const char* errnoCode(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return "ENOENT";
    case EACCES:
    case EPERM:
    case EROFS:
      return "EACCES";
    case ENOSPC:
    case EDQUOT:
      return "ENOSPC";
    case EEXIST:
      return "EEXIST";
    case EISDIR:
      return "EISDIR";
    case EWOULDBLOCK:
      return "EBUSY";
    default:
      return "EIO";
  }
}

[[noreturn]] void throwErrno(int err, const std::string& what) {
  throw Error(errnoCode(err), what + ": " + strerror(err));
}

inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t get32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
inline uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// ---------------------------------------------------------------------------
// Source files

// A source opened read-only under a shared flock (as libhdf5 locks a file it
// reads), so that no cooperating writer changes it while it is parsed and copied.
class SourceFile {
 public:
  explicit SourceFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throwErrno(errno, "cannot open " + path);
    if (::flock(fd_, LOCK_SH | LOCK_NB) != 0) {
      int err = errno;
      close();
      if (err == EWOULDBLOCK) throw Error("EBUSY", "unable to lock file " + path + ": another process holds it");
      throwErrno(err, "cannot lock " + path);
    }
    struct stat st;
    if (::fstat(fd_, &st) != 0) {
      int err = errno;
      close();
      throwErrno(err, "cannot inspect " + path);
    }
    regular_ = S_ISREG(st.st_mode);
    size_ = regular_ ? static_cast<uint64_t>(st.st_size) : 0;
    limit_ = size_;
  }
  ~SourceFile() { close(); }
  SourceFile(const SourceFile&) = delete;
  SourceFile& operator=(const SourceFile&) = delete;

  void close() {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
      fd_ = -1;
    }
  }

  const std::string& path() const { return path_; }
  bool regular() const { return regular_; }
  uint64_t size() const { return size_; }
  uint64_t limit() const { return limit_; }
  void setLimit(uint64_t limit) { limit_ = limit; }

  // Reads a structure, which must lie within the limit (the file's end of
  // allocated space once the superblock is read).
  void read(uint64_t addr, uint64_t len, uint8_t* out, const char* what) const {
    if (addr == kUndef || addr > limit_ || len > limit_ - addr) {
      damaged(std::string(what) + " " + at(addr) + " lies outside the file");
    }
    readRaw(addr, len, out);
  }

  // Plain read; a short read means the file shrank under us.
  void readRaw(uint64_t off, uint64_t len, uint8_t* out) const {
    while (len > 0) {
      ssize_t n = ::pread(fd_, out, static_cast<size_t>(std::min<uint64_t>(len, uint64_t{1} << 30)),
                          static_cast<off_t>(off));
      if (n < 0) {
        if (errno == EINTR) continue;
        throwErrno(errno, "cannot read " + path_);
      }
      if (n == 0) throw Error("EIO", "cannot read " + path_ + ": the file became shorter while it was read");
      out += n;
      off += static_cast<uint64_t>(n);
      len -= static_cast<uint64_t>(n);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool regular_ = false;
  uint64_t size_ = 0;
  uint64_t limit_ = 0;
};

// ---------------------------------------------------------------------------
// Encodings

struct DType {
  int cls = -1;
  uint32_t size = 0;
  size_t encoded = 0;  // bytes of the encoding
  bool vlenString = false;
  int pad = 0;   // strings: 0 null-terminated, 1 null-padded, 2 space-padded
  int cset = 0;  // strings: 0 ASCII, 1 UTF-8
  bool f64le = false;
};

// Decodes a datatype far enough to tell numbers and strings apart, checking
// what it decodes. Valid classes other than fixed-point, floating-point,
// string and variable-length string come back with `cls` set and nothing
// else (the callers refuse them); values libhdf5 1.10 never writes are damage.
DType parseDtype(const uint8_t* p, size_t n, int nesting = 0) {
  if (n < 8) damaged("a datatype runs past its message");
  DType t;
  t.cls = p[0] & 0x0f;
  int version = p[0] >> 4;
  if (version < 1 || version > 3) damaged("datatype version " + std::to_string(version));
  if (t.cls > 10) damaged("datatype class " + std::to_string(t.cls));
  const uint8_t* bits = p + 1;
  t.size = get32(p + 4);
  switch (t.cls) {
    case 0: {  // fixed-point
      if (n < 12) damaged("a datatype runs past its message");
      t.encoded = 12;
      uint32_t offset = get16(p + 8), precision = get16(p + 10);
      if (t.size == 0 || t.size > 64 || precision == 0 || offset + precision > 8 * t.size) damaged("malformed integer datatype");
      break;
    }
    case 1: {  // floating-point
      if (n < 20) damaged("a datatype runs past its message");
      t.encoded = 20;
      uint32_t offset = get16(p + 8), precision = get16(p + 10);
      uint32_t expAt = p[12], expBits = p[13], manAt = p[14], manBits = p[15];
      if (t.size == 0 || t.size > 64 || precision == 0 || offset + precision > 8 * t.size || expBits == 0 || manBits == 0 ||
          expAt + expBits > precision || manAt + manBits > precision || bits[1] >= precision || ((bits[0] >> 4) & 3) == 3) {
        damaged("malformed floating-point datatype");
      }
      static const uint8_t f64[20] = {0, 0x20, 0x3f, 0x00, 8, 0, 0, 0, 0, 0, 64, 0, 52, 11, 0, 52, 0xff, 0x03, 0, 0};
      t.f64le = std::memcmp(p + 1, f64 + 1, 19) == 0;
      break;
    }
    case 3:  // string
      t.encoded = 8;
      t.pad = bits[0] & 0x0f;
      t.cset = bits[0] >> 4;
      if (t.size == 0 || t.pad > 2 || t.cset > 1) damaged("malformed string datatype");
      break;
    case 9: {  // variable-length
      if (nesting > 0) unsupported("nested variable-length datatype");
      int kind = bits[0] & 0x0f;
      t.pad = bits[0] >> 4;
      t.cset = bits[1] & 0x0f;
      if (kind > 1) damaged("variable-length datatype of kind " + std::to_string(kind));
      DType base = parseDtype(p + 8, n - 8, nesting + 1);
      t.encoded = 8 + base.encoded;
      if (kind == 1) {
        if (t.size != 16 || base.cls != 0 || base.size != 1 || t.pad > 2 || t.cset > 1) damaged("malformed variable-length string datatype");
        t.vlenString = true;
      } else {
        t.cls = -9;  // variable-length sequences: not supported
      }
      break;
    }
    default:
      break;
  }
  return t;
}

struct DSpace {
  int type = 1;  // 0 scalar, 1 simple, 2 null
  uint64_t elements = 1;
};

DSpace parseDspace(const uint8_t* p, size_t n) {
  if (n < 4) damaged("a dataspace runs past its message");
  DSpace s;
  int version = p[0];
  if (version == 1 && n < 8) damaged("a dataspace runs past its message");
  unsigned rank = p[1];
  unsigned flags = p[2];
  size_t off;
  if (version == 1) {
    if (flags & 0x02) damaged("dataspace with a permutation");
    s.type = rank == 0 ? 0 : 1;
    off = 8;
  } else if (version == 2) {
    s.type = p[3];
    if (s.type > 2) damaged("dataspace type " + std::to_string(s.type));
    if ((s.type != 1) != (rank == 0)) damaged("dataspace rank does not match its type");
    off = 4;
  } else {
    damaged("dataspace version " + std::to_string(version));
  }
  if (flags & ~0x03u) damaged("dataspace flags");
  if (rank > 32) damaged("dataspace of rank " + std::to_string(rank));
  size_t need = off + size_t{rank} * 8 * ((flags & 0x01) ? 2 : 1);
  if (need > n) damaged("a dataspace runs past its message");
  if (s.type == 2) s.elements = 0;
  for (unsigned i = 0; i < rank; ++i) {
    uint64_t d = get64(p + off + 8 * i);
    if (d != 0 && s.elements > (uint64_t{1} << 62) / d) damaged("dataspace too large");
    s.elements *= d;
  }
  return s;
}

// Checks a fill value message (type 5) as libhdf5 decodes it.
void checkFill(const uint8_t* m, size_t n, const std::string& path) {
  if (n < 1) damaged("fill value of " + path + " runs past its message");
  int version = m[0];
  size_t off;
  bool value;
  if (version == 1 || version == 2) {
    if (n < 4) damaged("fill value of " + path + " runs past its message");
    off = 4;
    value = m[3] != 0;
  } else if (version == 3) {
    if (n < 2) damaged("fill value of " + path + " runs past its message");
    if (m[1] & ~0x3fu) damaged("fill value flags of " + path);
    off = 2;
    value = (m[1] & 0x20) != 0;
  } else {
    damaged("fill value version " + std::to_string(version) + " of " + path);
  }
  if (value && (n < off + 4 || get32(m + off) > n - off - 4)) damaged("fill value of " + path + " runs past its message");
}

// ---------------------------------------------------------------------------
// The parser

struct Entry {
  std::string name;
  uint64_t header = kUndef;
  uint32_t cache = 0;
  uint64_t btree = kUndef;
  uint64_t heap = kUndef;
  uint64_t pos = 0;  // file position of the symbol table entry
};

struct RootMember {
  std::string name;
  uint64_t header = kUndef;
  bool group = false;
  uint64_t btree = kUndef;
  uint64_t heap = kUndef;
};

// What copying a parsed source needs.
struct Parsed {
  uint64_t eoa = 0;
  std::vector<uint64_t> patches;  // sorted file positions of 8-byte addresses to relocate
  std::vector<RootMember> members;
};

struct MsgRef {
  size_t chunk;
  size_t offset;
  size_t size;
};

struct Chunk {
  uint64_t data;  // file address of bytes[0]
  std::vector<uint8_t> bytes;
};

struct Header {
  uint64_t addr = kUndef;
  int kind = -1;
  int plain = -1;
  std::vector<Chunk> chunks;
  std::vector<MsgRef> attrs;
  bool stab = false;
  uint64_t btree = kUndef;
  uint64_t heap = kUndef;
};

struct LocalHeap {
  uint64_t addr = kUndef;
  std::vector<uint8_t> data;

  // The NUL-terminated string at `off` in the heap's data.
  std::string name(uint64_t off) const {
    if (off >= data.size()) damaged("a name lies outside its local heap " + at(addr));
    const void* end = std::memchr(data.data() + off, 0, data.size() - off);
    if (!end) damaged("a name in the local heap " + at(addr) + " is not terminated");
    return std::string(reinterpret_cast<const char*>(data.data() + off),
                       static_cast<const uint8_t*>(end) - (data.data() + off));
  }
};

struct Collection {
  std::vector<uint8_t> bytes;
  std::unordered_map<uint16_t, std::pair<uint64_t, uint64_t>> objects;  // index -> (offset, size)
};

class Parser {
 public:
  Parser(SourceFile& file, const SpliceLimits& limits, bool full) : file_(file), limits_(limits), full_(full) {}

  SpliceReport run(Parsed* parsed) {
    SpliceReport report;
    try {
      parse();
      report.supported = true;
      report.objects = std::move(objects_);
      if (parsed) {
        std::sort(patches_.begin(), patches_.end());
        for (size_t i = 1; i < patches_.size(); ++i) {
          if (patches_[i] - patches_[i - 1] < 8) damaged("addresses overlap " + at(patches_[i]));
        }
        parsed->eoa = eoa_;
        parsed->patches = std::move(patches_);
        parsed->members = std::move(members_);
      }
    } catch (const Unsupported& u) {
      report = SpliceReport();
      report.reason = u.reason;
    } catch (const Damaged& d) {
      report = SpliceReport();
      report.reason = d.reason;
      report.damaged = true;
    } catch (const std::length_error&) {
      report = SpliceReport();
      report.reason = "a structure is too large";
    }
    return report;
  }

 private:
  SourceFile& file_;
  SpliceLimits limits_;
  bool full_;
  uint64_t eoa_ = 0;
  bool patching_ = false;
  std::map<uint64_t, uint64_t> regions_;  // start -> end of every structure met
  std::vector<uint64_t> patches_;
  std::unordered_map<uint64_t, Collection> heaps_;
  uint64_t heapBytes_ = 0;
  std::vector<SpliceObject> objects_;
  std::vector<RootMember> members_;
  size_t visited_ = 0;

  void patch(uint64_t pos) {
    if (patching_) patches_.push_back(pos);
  }

  // Claims [addr, addr + len) for one structure: inside the file, and
  // overlapping nothing claimed before (which also rules out cycles).
  void region(uint64_t addr, uint64_t len, const char* what) {
    if (addr == kUndef || addr > eoa_ || len > eoa_ - addr) {
      damaged(std::string(what) + " " + at(addr) + " lies outside the file");
    }
    if (len == 0) return;
    auto next = regions_.upper_bound(addr);
    bool overlap = next != regions_.end() && next->first < addr + len;
    if (!overlap && next != regions_.begin()) overlap = std::prev(next)->second > addr;
    if (overlap) damaged(std::string(what) + " " + at(addr) + " overlaps another structure (or is reached twice)");
    regions_.emplace(addr, addr + len);
  }

  void parse() {
    if (!file_.regular()) unsupported("not a regular file");
    uint8_t sb[100] = {0};
    if (file_.size() < kSuperblockSize) unsupported("shorter than an HDF5 superblock");
    file_.readRaw(0, std::min<uint64_t>(file_.size(), sizeof sb), sb);
    if (std::memcmp(sb, kSignature, 8) != 0) unsupported("no HDF5 superblock at offset 0");
    int version = sb[8];
    if (version > 1) unsupported("superblock version " + std::to_string(version));
    if (sb[9] != 0 || sb[10] != 0 || sb[12] != 0) unsupported("unknown free-space, symbol table entry or shared header version");
    if (sb[13] != 8 || sb[14] != 8) unsupported("file offsets or lengths other than 8 bytes");
    if (get16(sb + 16) != kLeafK || get16(sb + 18) != kInternalK) unsupported("group B-tree K values other than 4 and 16");
    if (get32(sb + 20) != 0) unsupported("file consistency flags set");
    size_t p = version == 1 ? 28 : 24;
    size_t sbSize = p + 32 + kEntrySize;
    if (file_.size() < sbSize) unsupported("shorter than an HDF5 superblock");
    if (get64(sb + p) != 0) unsupported("base address other than 0 (a user block)");
    if (get64(sb + p + 8) != kUndef) unsupported("free-space information");
    eoa_ = get64(sb + p + 16);
    if (get64(sb + p + 24) != kUndef) unsupported("a driver information block");
    if (eoa_ > file_.size()) unsupported("the file is shorter than its superblock says (truncated)");
    if (eoa_ < sbSize) unsupported("end of file address inside the superblock");
    file_.setLimit(eoa_);
    region(0, sbSize, "superblock");
    const uint8_t* root = sb + p + 32;
    uint64_t rootHeader = get64(root + 8);
    // libhdf5 decodes the root's entry even though a splice never uses it.
    uint32_t rootCache = get32(root + 16);
    if (rootCache > 2) damaged("the root group's symbol table entry has type " + std::to_string(rootCache));
    if (rootCache == 2) unsupported("the root is a soft link");
    if (version == 1 && get16(sb + 24) == 0) unsupported("indexed storage K of 0");

    // The root itself is never copied into a target: its structures are read, not relocated.
    patching_ = false;
    Header h = readHeader(rootHeader, "/");
    if (h.kind != KindGroup) unsupported("the root is not a group");
    SpliceObject rootObject;
    rootObject.path = "/";
    rootObject.kind = KindGroup;
    if (full_ || limits_.attrDepth >= 0) {
      readAttrs(h, "/", rootObject, limits_.attrDepth >= 0);
    }
    if (limits_.maxDepth >= 0) objects_.push_back(std::move(rootObject));
    if (!full_ && limits_.maxDepth < 1) return;
    std::vector<Entry> entries = readGroup(h.btree, h.heap, "/");
    patching_ = true;
    for (const Entry& e : entries) {
      RootMember m;
      m.name = e.name;
      m.header = e.header;
      Header child = visit(e, "/" + e.name, 1);
      m.group = child.kind == KindGroup;
      m.btree = child.btree;
      m.heap = child.heap;
      members_.push_back(std::move(m));
    }
  }

  // Parses the object behind a symbol table entry (and, for groups, its
  // members), reporting it in preorder.
  Header visit(const Entry& entry, const std::string& path, int depth) {
    if (depth > kMaxNesting) unsupported("groups nested deeper than " + std::to_string(kMaxNesting) + " levels");
    if (++visited_ > kMaxObjects) unsupported("more than " + std::to_string(kMaxObjects) + " objects");
    Header h = readHeader(entry.header, path);
    if (entry.cache == 1 && (h.kind != KindGroup || entry.btree != h.btree || entry.heap != h.heap)) {
      unsupported("the cached symbol table of " + path + " does not match its object header");
    }
    bool report = depth <= limits_.maxDepth;
    SpliceObject object;
    object.path = path;
    object.kind = h.kind;
    object.depth = depth;
    object.plain = h.plain;
    if (full_ || depth <= limits_.attrDepth) readAttrs(h, path, object, depth <= limits_.attrDepth);
    if (report) objects_.push_back(std::move(object));
    if (h.kind == KindGroup && (full_ || depth < limits_.maxDepth)) {
      std::vector<Entry> entries = readGroup(h.btree, h.heap, path);
      for (const Entry& e : entries) {
        patch(e.pos + 8);
        if (e.cache == 1) {
          patch(e.pos + 24);
          patch(e.pos + 32);
        }
        visit(e, path + "/" + e.name, depth + 1);
      }
    }
    return h;
  }

  // ---- object headers

  Header readHeader(uint64_t addr, const std::string& path) {
    Header h;
    h.addr = addr;
    uint8_t prefix[16];
    file_.read(addr, 16, prefix, "object header");
    if (std::memcmp(prefix, "OHDR", 4) == 0) unsupported("version 2 object header of " + path + " (latest file format)");
    if (prefix[0] != 1) damaged("object header version " + std::to_string(prefix[0]) + " of " + path);
    uint32_t nmesgs = get16(prefix + 2);
    uint64_t size0 = get32(prefix + 8);
    region(addr, 16 + size0, "object header");
    std::vector<std::pair<uint64_t, uint64_t>> pending{{addr + 16, size0}};
    uint32_t count = 0;
    const DType* dtype = nullptr;
    DType type;
    bool space = false, layout = false, contiguous = false;
    uint64_t elements = 0, storage = 0;
    for (size_t ci = 0; ci < pending.size(); ++ci) {
      if (ci >= kMaxChunks) unsupported("object header of " + path + " has too many chunks");
      auto [caddr, clen] = pending[ci];
      if (ci > 0) region(caddr, clen, "object header continuation");  // damaged when outside the file
      if (clen > kMaxChunk) unsupported("object header chunk of " + path + " too large");
      Chunk chunk{caddr, std::vector<uint8_t>(clen)};
      file_.read(caddr, clen, chunk.bytes.data(), "object header");
      const uint8_t* b = chunk.bytes.data();
      size_t p = 0;
      while (p < clen) {
        if (clen - p < 8) damaged("object header of " + path + ": a message runs past its chunk");
        uint16_t mtype = get16(b + p);
        size_t msize = get16(b + p + 2);
        uint8_t flags = b[p + 4];
        size_t d = p + 8;
        if (msize > clen - d) damaged("object header of " + path + ": a message runs past its chunk");
        if (msize % 8 != 0) damaged("object header of " + path + ": unaligned message");
        if (flags & 0x02) {
          // Without a shared message table (superblock 0 or 1), only datatypes can be shared (committed).
          if (mtype != 0x0003) damaged("shared message of type " + std::to_string(mtype) + " in " + path);
          unsupported("committed (shared) datatype in " + path);
        }
        if (flags & ~0x15u) unsupported("message flags " + std::to_string(flags) + " in " + path);
        const uint8_t* m = b + d;
        uint64_t pos = caddr + d;  // file position of the message data
        ++count;
        switch (mtype) {
          case 0x0000:  // NIL
            break;
          case 0x0004:  // fill value (old)
            if (msize < 4 || get32(m) > msize - 4) damaged("fill value of " + path + " runs past its message");
            break;
          case 0x0005:  // fill value
            checkFill(m, msize, path);
            break;
          case 0x000D:  // comment
            if (!std::memchr(m, 0, msize)) damaged("comment of " + path + " is not terminated");
            break;
          case 0x000E:  // modification time (old): 14 digits
            if (msize < 14 || !std::all_of(m, m + 14, [](uint8_t c) { return c >= '0' && c <= '9'; })) {
              damaged("modification time of " + path + " is malformed");
            }
            break;
          case 0x0012:  // modification time
            if (msize < 8 || m[0] != 1) damaged("modification time of " + path + " is malformed");
            break;
          case 0x0001:  // dataspace
            if (space) unsupported("two dataspaces in " + path);
            elements = parseDspace(m, msize).elements;
            space = true;
            break;
          case 0x0003:  // datatype
            if (dtype) unsupported("two datatypes in " + path);
            type = parseDtype(m, msize);
            dtype = &type;
            break;
          case 0x0008: {  // data layout
            if (layout) unsupported("two layouts in " + path);
            layout = true;
            if (msize < 2 || m[0] < 1 || m[0] > 4) damaged("data layout version " + std::to_string(msize ? m[0] : 0) + " of " + path);
            if (m[0] != 3) unsupported("data layout version " + std::to_string(m[0]) + " of " + path);
            if (m[1] == 0) {  // compact: the data is in the message
              if (msize < 4 || get16(m + 2) > msize - 4) damaged("compact data of " + path + " runs past its message");
              storage = get16(m + 2);
            } else if (m[1] == 1) {  // contiguous
              if (msize < 18) damaged("data layout of " + path + " runs past its message");
              contiguous = true;
              uint64_t data = get64(m + 2);
              uint64_t size = get64(m + 10);
              storage = size;
              if (data != kUndef) {  // undefined: storage not allocated (reads give the fill value)
                region(data, size, "raw data");
                patch(pos + 2);
              }
            } else if (m[1] == 2) {
              unsupported("chunked layout of " + path);
            } else {
              if (m[1] == 3) unsupported("virtual layout of " + path);
              damaged("data layout class " + std::to_string(m[1]) + " of " + path);
            }
            break;
          }
          case 0x000C:  // attribute
            h.attrs.push_back({ci, d, msize});
            break;
          case 0x0010: {  // continuation
            if (msize < 16) damaged("continuation message of " + path + " too short");
            uint64_t next = get64(m);
            uint64_t len = get64(m + 8);
            if (next == kUndef || len == 0) damaged("continuation of " + path + " to nowhere");
            pending.emplace_back(next, len);
            patch(pos);
            break;
          }
          case 0x0011:  // symbol table
            if (h.stab) unsupported("two symbol tables in " + path);
            if (msize < 16) damaged("symbol table message of " + path + " too short");
            h.stab = true;
            h.btree = get64(m);
            h.heap = get64(m + 8);
            patch(pos);
            patch(pos + 8);
            break;
          case 0x0002:
          case 0x0006:
          case 0x000A:
            unsupported("new-style (link) group " + path);
          case 0x0007:
            unsupported("external storage of " + path);
          case 0x000B:
            unsupported("filtered data of " + path);
          case 0x0015:
            unsupported("dense or creation-ordered attributes of " + path);
          default:
            unsupported("object header message type " + std::to_string(mtype) + " in " + path);
        }
        p = d + msize;
      }
      h.chunks.push_back(std::move(chunk));
    }
    if (count != nmesgs) {
      unsupported("object header of " + path + " holds " + std::to_string(count) + " messages, its prefix says " +
                  std::to_string(nmesgs));
    }
    if (h.stab) {
      if (dtype || space || layout) unsupported(path + " is both a group and a dataset");
      h.kind = KindGroup;
    } else if (dtype && space && layout) {
      if (type.cls != 0 && type.cls != 1) unsupported("dataset " + path + " holds neither integers nor floating-point numbers");
      if (type.size == 0 || type.size > 64 || elements > ~uint64_t{0} / type.size || storage != elements * type.size) {
        damaged("the storage size of " + path + " does not match its shape and type");
      }
      h.kind = KindDataset;
      h.plain = type.f64le && contiguous ? 1 : 0;
    } else {
      unsupported(path + " is neither a group nor a dataset (e.g. a committed datatype)");
    }
    return h;
  }

  // ---- attributes

  struct AttrView {
    std::string_view name;
    std::string_view value;
    bool standard;
  };

  // Decodes every attribute (relocating the global heap IDs of variable-length
  // strings); with `keep`, packs them into `object` in name order.
  void readAttrs(const Header& h, const std::string& path, SpliceObject& object, bool keep) {
    object.hasAttrs = keep;
    std::vector<AttrView> attrs;
    attrs.reserve(h.attrs.size());
    auto where = [&](std::string_view name) { return "attribute '" + std::string(name) + "' of " + path; };
    for (const MsgRef& ref : h.attrs) {
      const Chunk& chunk = h.chunks[ref.chunk];
      const uint8_t* m = chunk.bytes.data() + ref.offset;
      size_t n = ref.size;
      uint64_t pos = chunk.data + ref.offset;
      if (n < 8) damaged("attribute message of " + path + " too short");
      int version = m[0];
      size_t nameSize = get16(m + 2), typeSize = get16(m + 4), spaceSize = get16(m + 6);
      size_t off;
      bool padded = version == 1;
      if (version == 1) {
        off = 8;
      } else if (version == 2 || version == 3) {
        if (m[1] & ~0x03u) damaged("attribute flags in " + path);
        if (m[1] != 0) unsupported("attribute of " + path + " with a shared datatype or dataspace");
        off = version == 3 ? 9 : 8;
        if (version == 3 && m[8] > 1) damaged("attribute name encoding of " + path);
      } else {
        damaged("attribute message version " + std::to_string(version) + " in " + path);
      }
      auto step = [&](size_t size) {
        size_t s = padded ? static_cast<size_t>(alignUp(size, 8)) : size;
        if (off > n || s > n - off) damaged("attribute message of " + path + " runs past its end");
        size_t start = off;
        off += s;
        return start;
      };
      size_t nameAt = step(nameSize);
      size_t typeAt = step(typeSize);
      size_t spaceAt = step(spaceSize);
      if (nameSize == 0 || m[nameAt + nameSize - 1] != 0 || std::memchr(m + nameAt, 0, nameSize - 1)) {
        damaged("attribute name in " + path + " is not one terminated string");
      }
      AttrView attr;
      attr.name = std::string_view(reinterpret_cast<const char*>(m + nameAt), nameSize - 1);
      if (!isUtf8(attr.name.data(), attr.name.size())) unsupported("an attribute name of " + path + " is not UTF-8 text");
      DType t = parseDtype(m + typeAt, typeSize);
      DSpace s = parseDspace(m + spaceAt, spaceSize);
      if (t.cls != 3 && !t.vlenString) unsupported(where(attr.name) + " is not a string");
      if (s.elements > (n - off) / t.size) damaged(where(attr.name) + ": data runs past its message");
      const uint8_t* data = m + off;
      if (s.elements != 1) unsupported(where(attr.name) + " holds " + std::to_string(s.elements) + " strings, not exactly one");
      if (t.vlenString) {
        attr.value = vlenString(data, pos + off, attr.name, path);
        attr.standard = t.cset == 1 && s.type == 0;
      } else {
        const char* chars = reinterpret_cast<const char*>(data);
        size_t len = t.size;
        if (t.pad == 2) {
          while (len > 0 && chars[len - 1] == ' ') --len;
        } else {
          len = strnlen(chars, len);
        }
        attr.value = std::string_view(chars, len);
        attr.standard = false;
      }
      if (!isUtf8(attr.value.data(), attr.value.size())) unsupported(where(attr.name) + " holds bytes that are not UTF-8 text");
      attrs.push_back(attr);
    }
    std::sort(attrs.begin(), attrs.end(), [](const AttrView& a, const AttrView& b) { return a.name < b.name; });
    for (size_t i = 1; i < attrs.size(); ++i) {
      if (attrs[i].name == attrs[i - 1].name) unsupported("two attributes named '" + std::string(attrs[i].name) + "' on " + path);
    }
    if (!keep) return;
    size_t bytes = 0;
    for (const AttrView& a : attrs) bytes += a.name.size() + a.value.size() + 2;
    object.attrs.reserve(bytes);
    for (const AttrView& a : attrs) {
      object.attrs.append(a.name).push_back('\0');
      object.attrs.append(a.value).push_back('\0');
      if (!a.standard) object.nonStandard.append(a.name).push_back('\0');
    }
  }

  // The value behind a global heap ID (length, collection address, index),
  // as libhdf5 reads a variable-length string: up to the first NUL.
  std::string_view vlenString(const uint8_t* id, uint64_t pos, std::string_view name, const std::string& path) {
    uint32_t length = get32(id);
    uint64_t addr = get64(id + 4);
    uint32_t index = get32(id + 12);
    auto where = [&] { return "attribute '" + std::string(name) + "' of " + path; };
    if (index > 0xffff) damaged(where() + ": global heap index out of range");
    if (addr == 0) return std::string_view();  // a null string
    const Collection& c = collection(addr);
    auto it = c.objects.find(static_cast<uint16_t>(index));
    if (index == 0 || it == c.objects.end()) damaged(where() + ": its value is missing from the global heap");
    if (length != it->second.second) damaged(where() + ": its length differs from its global heap object's");
    patch(pos + 4);
    const char* chars = reinterpret_cast<const char*>(c.bytes.data() + it->second.first);
    return std::string_view(chars, strnlen(chars, length));
  }

  const Collection& collection(uint64_t addr) {
    auto found = heaps_.find(addr);
    if (found != heaps_.end()) return found->second;
    uint8_t head[16];
    file_.read(addr, 16, head, "global heap collection");
    if (std::memcmp(head, "GCOL", 4) != 0 || head[4] != 1) damaged("no global heap collection " + at(addr));
    uint64_t size = get64(head + 8);
    if (size < kMinCollection) damaged("global heap collection " + at(addr) + " too small");
    if (size > kMaxGlobalHeaps - heapBytes_) unsupported("global heap collections too large");
    region(addr, size, "global heap collection");
    Collection c;
    c.bytes.resize(size);
    file_.read(addr, size, c.bytes.data(), "global heap collection");
    heapBytes_ += size;
    const uint8_t* b = c.bytes.data();
    uint64_t p = 16;
    while (p < size) {
      if (size - p < 16) break;  // too small for an object: free space
      uint16_t index = get16(b + p);
      uint64_t osize = get64(b + p + 8);
      uint64_t need;
      if (index > 0) {
        if (osize > size) damaged("global heap object too large " + at(addr));
        need = 16 + alignUp(osize, 8);
        if (!c.objects.emplace(index, std::make_pair(p + 16, osize)).second) {
          damaged("global heap collection " + at(addr) + " holds one index twice");
        }
      } else {
        need = osize;
      }
      if (need < 16 || need > size - p) damaged("global heap collection " + at(addr) + " is malformed");
      p += need;
    }
    return heaps_.emplace(addr, std::move(c)).first->second;
  }

  // ---- groups

  LocalHeap readLocalHeap(uint64_t addr, const std::string& path) {
    uint8_t head[kHeapHeaderSize];
    region(addr, kHeapHeaderSize, "local heap");
    file_.read(addr, kHeapHeaderSize, head, "local heap");
    if (std::memcmp(head, "HEAP", 4) != 0 || head[4] != 0) damaged("no local heap " + at(addr) + " for " + path);
    uint64_t size = get64(head + 8);
    uint64_t freeList = get64(head + 16);
    uint64_t data = get64(head + 24);
    if (size == 0) damaged("local heap of " + path + " is empty");
    region(data, size, "local heap data");  // damaged when outside the file, before "too large"
    if (size > kMaxLocalHeap) unsupported("local heap of " + path + " too large");
    patch(addr + 24);
    LocalHeap heap;
    heap.addr = addr;
    heap.data.resize(size);
    file_.read(data, size, heap.data.data(), "local heap data");
    // Free list, checked as libhdf5 checks it on load.
    uint64_t blocks = 0;
    for (uint64_t off = freeList; off != kHeapFreeNull;) {
      if (off >= size || size - off < 16 || ++blocks > size / 16) damaged("bad free list in the local heap of " + path);
      uint64_t next = get64(heap.data.data() + off);
      uint64_t len = get64(heap.data.data() + off + 8);
      if (next == 0 || len > size - off) damaged("bad free list in the local heap of " + path);
      off = next;
    }
    return heap;
  }

  struct Tree {
    std::map<uint64_t, int> nodes;                     // address -> level
    std::vector<std::pair<uint64_t, int>> siblings;  // (address, level of the node pointing there)
  };

  std::vector<Entry> readGroup(uint64_t btree, uint64_t heapAddr, const std::string& path) {
    LocalHeap heap = readLocalHeap(heapAddr, path);
    std::vector<Entry> entries;
    Tree tree;
    walk(btree, -1, heap, entries, tree, path);
    for (size_t i = 1; i < entries.size(); ++i) {
      if (!(entries[i - 1].name < entries[i].name)) unsupported("members of " + path + " are not in name order");
    }
    for (const auto& [addr, level] : tree.siblings) {
      auto it = tree.nodes.find(addr);
      if (it == tree.nodes.end() || it->second != level) unsupported("B-tree sibling pointers of " + path + " are broken");
    }
    return entries;
  }

  void walk(uint64_t addr, int expect, const LocalHeap& heap, std::vector<Entry>& out, Tree& tree, const std::string& path) {
    uint8_t node[kNodeSize];
    region(addr, kNodeSize, "B-tree node");
    file_.read(addr, kNodeSize, node, "B-tree node");
    if (std::memcmp(node, "TREE", 4) != 0 || node[4] != 0) damaged("no group B-tree node " + at(addr) + " for " + path);
    int level = node[5];
    unsigned used = get16(node + 6);
    if (level > kMaxTreeLevel || (expect >= 0 && level != expect)) damaged("B-tree levels of " + path + " are inconsistent");
    if (used > 2 * kInternalK) damaged("B-tree node of " + path + " holds too many children");
    tree.nodes.emplace(addr, level);
    for (int side = 0; side < 2; ++side) {
      uint64_t sibling = get64(node + 8 + 8 * side);
      if (sibling != kUndef) {
        tree.siblings.emplace_back(sibling, level);
        patch(addr + 8 + 8 * side);
      }
    }
    for (unsigned i = 0; i < used; ++i) {
      const uint8_t* slot = node + 24 + 16 * i;
      std::string lo = heap.name(get64(slot));
      std::string hi = heap.name(get64(slot + 16));
      uint64_t child = get64(slot + 8);
      patch(addr + 24 + 16 * i + 8);
      size_t first = out.size();
      if (level > 0) {
        walk(child, level - 1, heap, out, tree, path);
      } else {
        readSnod(child, heap, out, path);
      }
      for (size_t k = first; k < out.size(); ++k) {
        if (!(lo < out[k].name) || hi < out[k].name) unsupported("B-tree keys of " + path + " do not match its members");
      }
    }
  }

  void readSnod(uint64_t addr, const LocalHeap& heap, std::vector<Entry>& out, const std::string& path) {
    uint8_t node[kSnodSize];
    region(addr, kSnodSize, "symbol table node");
    file_.read(addr, kSnodSize, node, "symbol table node");
    if (std::memcmp(node, "SNOD", 4) != 0 || node[4] != 1) damaged("no symbol table node " + at(addr) + " for " + path);
    unsigned count = get16(node + 6);
    if (count > 2 * kLeafK) damaged("symbol table node of " + path + " holds too many entries");
    for (unsigned i = 0; i < count; ++i) {
      const uint8_t* e = node + 8 + kEntrySize * i;
      Entry entry;
      entry.name = heap.name(get64(e));
      entry.header = get64(e + 8);
      entry.cache = get32(e + 16);
      entry.pos = addr + 8 + kEntrySize * i;
      if (entry.name.empty() || entry.name.find('/') != std::string::npos || !isUtf8(entry.name.data(), entry.name.size())) {
        unsupported("a member of " + path + " has a name that is not a plain UTF-8 name");
      }
      if (entry.cache == 2 || entry.header == kUndef) unsupported("soft link " + path + "/" + entry.name);
      if (entry.cache > 2) damaged("unknown symbol table entry type in " + path);
      if (entry.cache == 1) {
        entry.btree = get64(e + 24);
        entry.heap = get64(e + 32);
      }
      out.push_back(std::move(entry));
    }
  }
};

// ---------------------------------------------------------------------------
// Writing

void writeAll(int fd, const uint8_t* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, std::min<size_t>(n, size_t{1} << 30), static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      throwErrno(errno, "cannot write " + path);
    }
    p += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
}

struct RootEntry {
  std::string name;
  uint64_t header;
  bool group;
  uint64_t btree;
  uint64_t heap;
};

}  // namespace

SpliceReport spliceScan(const std::string& path, const SpliceLimits& limits) {
  SourceFile file(path);
  Parser parser(file, limits, /*full=*/false);
  return parser.run(nullptr);
}

struct Splicer::Impl {
  std::string path;
  int fd = -1;
  bool failed = false;
  uint64_t end = kSuperblockSize;  // end of what is written so far
  struct Staged {
    std::unique_ptr<SourceFile> file;
    Parsed parsed;
  };
  std::unique_ptr<Staged> staged;
  std::vector<RootEntry> members;
  std::unordered_set<std::string> names;
  std::vector<uint8_t> buffer;

  void usable() const {
    if (fd < 0) throw Error("ECLOSED", "the spliced file is already finished or aborted");
    if (failed) throw Error("ESTATE", "an earlier step of writing " + path + " failed; abort it");
  }

  void close() {
    staged.reset();
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }

  void copy(Staged& s, uint64_t base) {
    if (buffer.empty()) buffer.resize(kCopyChunk);
    const std::vector<uint64_t>& patches = s.parsed.patches;
    uint64_t eoa = s.parsed.eoa;
    size_t next = 0;
    for (uint64_t off = 0; off < eoa;) {
      uint64_t stop = std::min<uint64_t>(eoa, off + kCopyChunk);
      size_t last = next;
      while (last < patches.size() && patches[last] + 8 <= stop) ++last;
      if (last < patches.size() && patches[last] < stop) stop = patches[last];  // never split an address
      size_t n = static_cast<size_t>(stop - off);
      s.file->readRaw(off, n, buffer.data());
      for (; next < last; ++next) {
        uint8_t* q = buffer.data() + (patches[next] - off);
        put64(q, get64(q) + base);
      }
      writeAll(fd, buffer.data(), n, base + off, path);
      off = stop;
    }
  }

  // The root group: object header, B-tree, symbol table nodes and local
  // heap, laid out from `addr`, all in one buffer.
  std::vector<uint8_t> root(uint64_t addr, uint64_t& btreeAddr, uint64_t& heapAddr) {
    std::sort(members.begin(), members.end(), [](const RootEntry& a, const RootEntry& b) { return a.name < b.name; });
    // Local heap data: "" at offset 0, then every name, each padded to 8 bytes.
    std::vector<uint64_t> nameOff(members.size());
    uint64_t heapData = 8;
    for (size_t i = 0; i < members.size(); ++i) {
      nameOff[i] = heapData;
      heapData += alignUp(members[i].name.size() + 1, 8);
    }
    size_t snods = (members.size() + 2 * kLeafK - 1) / (2 * kLeafK);
    // B-tree levels, bottom up: each level's nodes and their children (indexes into the level below).
    struct Node {
      size_t first, count;
    };
    std::vector<std::vector<Node>> levels;
    size_t below = snods;
    do {
      size_t nodes = std::max<size_t>(1, (below + 2 * kInternalK - 1) / (2 * kInternalK));
      std::vector<Node> level;
      size_t first = 0;
      for (size_t k = 0; k < nodes; ++k) {
        size_t count = below / nodes + (k < below % nodes ? 1 : 0);
        level.push_back({first, count});
        first += count;
      }
      levels.push_back(std::move(level));
      below = nodes;
    } while (below > 1);
    size_t treeNodes = 0;
    for (const auto& level : levels) treeNodes += level.size();

    uint64_t headerAddr = addr;
    uint64_t nodesAddr = headerAddr + 40;
    uint64_t snodsAddr = nodesAddr + treeNodes * kNodeSize;
    heapAddr = snodsAddr + snods * kSnodSize;
    uint64_t total = heapAddr + kHeapHeaderSize + heapData - addr;
    std::vector<uint8_t> out(static_cast<size_t>(total), 0);
    auto ptr = [&](uint64_t a) { return out.data() + (a - addr); };

    // Node addresses: levels stored top (root) first, so the root node comes first.
    std::vector<std::vector<uint64_t>> nodeAddr(levels.size());
    uint64_t a = nodesAddr;
    for (size_t l = levels.size(); l-- > 0;) {
      for (size_t k = 0; k < levels[l].size(); ++k, a += kNodeSize) nodeAddr[l].push_back(a);
    }
    btreeAddr = nodeAddr.back()[0];

    // The largest name (as a heap offset) under each child of each level.
    std::vector<uint64_t> maxKey(snods);
    for (size_t s = 0; s < snods; ++s) {
      size_t lastMember = std::min(members.size(), (s + 1) * 2 * kLeafK) - 1;
      maxKey[s] = nameOff[lastMember];
    }
    for (size_t l = 0; l < levels.size(); ++l) {
      std::vector<uint64_t> upKey(levels[l].size(), 0);
      for (size_t k = 0; k < levels[l].size(); ++k) {
        const Node& node = levels[l][k];
        uint8_t* p = ptr(nodeAddr[l][k]);
        std::memcpy(p, "TREE", 4);
        p[4] = 0;
        p[5] = static_cast<uint8_t>(l);
        put16(p + 6, static_cast<uint16_t>(node.count));
        put64(p + 8, k > 0 ? nodeAddr[l][k - 1] : kUndef);
        put64(p + 16, k + 1 < levels[l].size() ? nodeAddr[l][k + 1] : kUndef);
        // Left key: the largest name left of this node ("" at offset 0 for the leftmost).
        put64(p + 24, node.first > 0 ? maxKey[node.first - 1] : 0);
        for (size_t c = 0; c < node.count; ++c) {
          size_t child = node.first + c;
          uint64_t childAddr = l == 0 ? snodsAddr + child * kSnodSize : nodeAddr[l - 1][child];
          put64(p + 24 + 16 * c + 8, childAddr);
          put64(p + 24 + 16 * (c + 1), maxKey[child]);
        }
        upKey[k] = node.count > 0 ? maxKey[node.first + node.count - 1] : 0;
      }
      maxKey = std::move(upKey);
    }

    // Symbol table nodes.
    for (size_t s = 0; s < snods; ++s) {
      uint8_t* p = ptr(snodsAddr + s * kSnodSize);
      std::memcpy(p, "SNOD", 4);
      p[4] = 1;
      size_t first = s * 2 * kLeafK;
      size_t count = std::min<size_t>(2 * kLeafK, members.size() - first);
      put16(p + 6, static_cast<uint16_t>(count));
      for (size_t i = 0; i < count; ++i) {
        const RootEntry& m = members[first + i];
        uint8_t* e = p + 8 + kEntrySize * i;
        put64(e, nameOff[first + i]);
        put64(e + 8, m.header);
        if (m.group) {
          put32(e + 16, 1);
          put64(e + 24, m.btree);
          put64(e + 32, m.heap);
        }
      }
    }

    // Local heap.
    uint8_t* h = ptr(heapAddr);
    std::memcpy(h, "HEAP", 4);
    put64(h + 8, heapData);
    put64(h + 16, kHeapFreeNull);
    put64(h + 24, heapAddr + kHeapHeaderSize);
    for (size_t i = 0; i < members.size(); ++i) {
      std::memcpy(h + kHeapHeaderSize + nameOff[i], members[i].name.data(), members[i].name.size());
    }

    // Object header: version 1, one symbol table message.
    uint8_t* o = ptr(headerAddr);
    o[0] = 1;
    put16(o + 2, 1);
    put32(o + 4, 1);
    put32(o + 8, 24);
    put16(o + 16, 0x0011);
    put16(o + 18, 16);
    put64(o + 24, btreeAddr);
    put64(o + 32, heapAddr);
    return out;
  }
};

Splicer::Splicer(const std::string& target) : impl_(std::make_unique<Impl>()) {
  impl_->path = target;
  impl_->fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (impl_->fd < 0) throwErrno(errno, "cannot create " + target);
}

Splicer::~Splicer() { impl_->close(); }

bool Splicer::open() const { return impl_->fd >= 0; }

SpliceReport Splicer::stage(const std::string& source, const SpliceLimits& limits) {
  impl_->usable();
  impl_->staged.reset();
  auto staged = std::make_unique<Impl::Staged>();
  staged->file = std::make_unique<SourceFile>(source);
  Parser parser(*staged->file, limits, /*full=*/true);
  SpliceReport report = parser.run(&staged->parsed);
  if (report.supported) impl_->staged = std::move(staged);
  return report;
}

uint64_t Splicer::commit() {
  impl_->usable();
  if (!impl_->staged) throw Error("ESTATE", "no source is staged");
  std::unique_ptr<Impl::Staged> s = std::move(impl_->staged);
  std::unordered_set<std::string> seen;
  for (const RootMember& m : s->parsed.members) {
    if (impl_->names.count(m.name) || !seen.insert(m.name).second) {
      throw Error("EEXIST", "the spliced file already holds a root member named '" + m.name + "'");
    }
  }
  uint64_t base = alignUp(impl_->end, kSourceAlign);
  try {
    impl_->copy(*s, base);
  } catch (...) {
    impl_->failed = true;
    throw;
  }
  for (const RootMember& m : s->parsed.members) {
    impl_->names.insert(m.name);
    impl_->members.push_back({m.name, m.header + base, m.group, m.group ? m.btree + base : kUndef,
                              m.group ? m.heap + base : kUndef});
  }
  impl_->end = base + s->parsed.eoa;
  return s->parsed.eoa;
}

void Splicer::discard() { impl_->staged.reset(); }

uint64_t Splicer::finish() {
  impl_->usable();
  impl_->staged.reset();
  try {
    uint64_t addr = alignUp(impl_->end, 8);
    uint64_t btree = 0, heap = 0;
    std::vector<uint8_t> root = impl_->root(addr, btree, heap);
    uint64_t eoa = addr + root.size();
    writeAll(impl_->fd, root.data(), root.size(), addr, impl_->path);
    uint8_t sb[kSuperblockSize] = {0};
    std::memcpy(sb, kSignature, 8);
    sb[13] = 8;
    sb[14] = 8;
    put16(sb + 16, kLeafK);
    put16(sb + 18, kInternalK);
    put64(sb + 24, 0);       // base address
    put64(sb + 32, kUndef);  // free-space information
    put64(sb + 40, eoa);     // end of file address
    put64(sb + 48, kUndef);  // driver information block
    uint8_t* e = sb + 56;    // root group symbol table entry
    put64(e + 8, addr);
    put32(e + 16, 1);
    put64(e + 24, btree);
    put64(e + 32, heap);
    writeAll(impl_->fd, sb, sizeof sb, 0, impl_->path);
    int fd = impl_->fd;
    impl_->fd = -1;
    if (::close(fd) != 0) throwErrno(errno, "cannot write " + impl_->path);
    return eoa;
  } catch (...) {
    impl_->failed = true;
    throw;
  }
}

void Splicer::abort() { impl_->close(); }

}  // namespace h5n

// ---------------------------------------------------------------------------
// N-API surface

namespace h5n_splice {

namespace {

const napi_type_tag kSpliceTag = {0x6f66667370656374ULL, 0x73706c6963657221ULL};

h5n::Splicer* splicerArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal() || !info[0].As<Napi::External<void>>().CheckTypeTag(&kSpliceTag)) {
    throw Napi::TypeError::New(info.Env(), "expected a splice handle");
  }
  return info[0].As<Napi::External<h5n::Splicer>>().Data();
}

h5n::SpliceLimits limitsArg(const Napi::CallbackInfo& info, size_t i) {
  h5n::SpliceLimits limits;
  if (info.Length() > i && info[i].IsNumber()) limits.maxDepth = info[i].As<Napi::Number>().Int32Value();
  if (info.Length() > i + 1 && info[i + 1].IsNumber()) limits.attrDepth = info[i + 1].As<Napi::Number>().Int32Value();
  return limits;
}

// [reason, null, damaged] or [null, objects, false]; each object is
// [path, kind, packed attributes | null, packed non-standard names | null, plain | null].
Napi::Value reportToJs(Napi::Env env, const h5n::SpliceReport& report) {
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(2u, Napi::Boolean::New(env, report.damaged));
  if (!report.supported) {
    out.Set(0u, Napi::String::New(env, report.reason));
    out.Set(1u, env.Null());
    return out;
  }
  Napi::Array objects = Napi::Array::New(env, report.objects.size());
  for (uint32_t i = 0; i < report.objects.size(); ++i) {
    const h5n::SpliceObject& o = report.objects[i];
    Napi::Array item = Napi::Array::New(env, 5);
    item.Set(0u, Napi::String::New(env, o.path));
    item.Set(1u, Napi::Number::New(env, o.kind));
    if (o.hasAttrs) {
      item.Set(2u, Napi::String::New(env, o.attrs.data(), o.attrs.size()));
      item.Set(3u, Napi::String::New(env, o.nonStandard.data(), o.nonStandard.size()));
    } else {
      item.Set(2u, env.Null());
      item.Set(3u, env.Null());
    }
    item.Set(4u, o.plain < 0 ? env.Null() : Napi::Boolean::New(env, o.plain == 1));
    objects.Set(i, item);
  }
  out.Set(0u, env.Null());
  out.Set(1u, objects);
  return out;
}

// spliceScan(path, maxDepth?, attrDepth?) -> report
Napi::Value Scan(const Napi::CallbackInfo& info) {
  std::string path = bind::stringArg(info, 0, "path");
  h5n::SpliceLimits limits = limitsArg(info, 1);
  h5n::SpliceReport report = bind::guard(info.Env(), [&] { return h5n::spliceScan(path, limits); });
  return reportToJs(info.Env(), report);
}

// The attributes of every dataset down to `depth` whose attributes are all
// h5py-style strings, as one byte string of records: u32 LE path length,
// path, u32 LE length of the packed attributes, packed attributes
// ("name\0value\0..."). For readers that want every trace's attributes
// without a JavaScript object per dataset (CacheFile's sequential reads).
std::string packDatasetAttrs(const h5n::SpliceReport& report) {
  std::string out;
  auto u32 = [&out](size_t n) {
    uint32_t v = static_cast<uint32_t>(n);
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  };
  for (const h5n::SpliceObject& o : report.objects) {
    if (o.kind != h5n::KindDataset || !o.hasAttrs || !o.nonStandard.empty()) continue;
    u32(o.path.size());
    out += o.path;
    u32(o.attrs.size());
    out += o.attrs;
  }
  return out;
}

// [packed Buffer] for a supported file, or [reason string] when not.
Napi::Value attrsToJs(Napi::Env env, h5n::SpliceReport& report, std::string* packed) {
  Napi::Array out = Napi::Array::New(env, 1);
  if (!report.supported) {
    out.Set(0u, Napi::String::New(env, report.reason));
    return out;
  }
  auto* owned = new std::string(std::move(*packed));
  out.Set(0u, Napi::Buffer<char>::New(env, owned->data(), owned->size(),
                                      [](Napi::Env, char*, std::string* str) { delete str; }, owned));
  return out;
}

// spliceScanAttrs(path, depth) -> [Buffer] | [reason]: see packDatasetAttrs.
Napi::Value ScanAttrs(const Napi::CallbackInfo& info) {
  std::string path = bind::stringArg(info, 0, "path");
  h5n::SpliceLimits limits = limitsArg(info, 1);
  h5n::SpliceReport report = bind::guard(info.Env(), [&] { return h5n::spliceScan(path, limits); });
  std::string packed = packDatasetAttrs(report);
  return attrsToJs(info.Env(), report, &packed);
}

// spliceScanAsync(path, maxDepth?, attrDepth?) -> Promise<report>: spliceScan
// on libuv's thread pool (the parse touches no libhdf5 state).
class ScanOp : public Napi::AsyncWorker {
 public:
  ScanOp(Napi::Env env, std::string path, h5n::SpliceLimits limits, bool attrsOnly)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        limits_(limits),
        attrsOnly_(attrsOnly) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    failure_ = bind::captureFailure(
        [&] {
          report_ = h5n::spliceScan(path_, limits_);
          if (attrsOnly_) {
            packed_ = packDatasetAttrs(report_);
            report_.objects.clear();
          }
        },
        "EIO");
    if (failure_) SetError(failure_->what());
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    deferred_.Resolve(attrsOnly_ ? attrsToJs(Env(), report_, &packed_) : reportToJs(Env(), report_));
  }
  void OnError(const Napi::Error& error) override {
    Napi::HandleScope scope(Env());
    if (failure_) deferred_.Reject(bind::toJs(Env(), *failure_).Value());
    else deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  h5n::SpliceLimits limits_;
  bool attrsOnly_;
  h5n::SpliceReport report_;
  std::string packed_;
  std::unique_ptr<h5n::Error> failure_;
};

Napi::Value ScanAsync(const Napi::CallbackInfo& info) {
  std::string path = bind::stringArg(info, 0, "path");
  h5n::SpliceLimits limits = limitsArg(info, 1);
  auto* op = new ScanOp(info.Env(), std::move(path), limits, false);
  Napi::Promise promise = op->Promise();
  op->Queue();
  return promise;
}

// spliceScanAttrsAsync(path, depth) -> Promise<[Buffer] | [reason]>.
Napi::Value ScanAttrsAsync(const Napi::CallbackInfo& info) {
  std::string path = bind::stringArg(info, 0, "path");
  h5n::SpliceLimits limits = limitsArg(info, 1);
  auto* op = new ScanOp(info.Env(), std::move(path), limits, true);
  Napi::Promise promise = op->Promise();
  op->Queue();
  return promise;
}

// spliceBegin(target) -> handle; creates `target`, which must not exist.
Napi::Value Begin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target = bind::stringArg(info, 0, "target");
  h5n::Splicer* splicer = bind::guard(env, [&] { return new h5n::Splicer(target); });
  auto external = Napi::External<h5n::Splicer>::New(env, splicer, [](Napi::Env, h5n::Splicer* s) { delete s; });
  external.TypeTag(&kSpliceTag);
  return external;
}

// spliceAdd(handle, source, maxDepth?, attrDepth?) -> report; a supported
// source stays staged (and locked) until spliceCommit or spliceDiscard.
Napi::Value Add(const Napi::CallbackInfo& info) {
  h5n::Splicer* splicer = splicerArg(info);
  std::string source = bind::stringArg(info, 1, "source");
  h5n::SpliceLimits limits = limitsArg(info, 2);
  h5n::SpliceReport report = bind::guard(info.Env(), [&] { return splicer->stage(source, limits); });
  return reportToJs(info.Env(), report);
}

Napi::Value Commit(const Napi::CallbackInfo& info) {
  h5n::Splicer* splicer = splicerArg(info);
  uint64_t bytes = bind::guard(info.Env(), [&] { return splicer->commit(); });
  return Napi::Number::New(info.Env(), static_cast<double>(bytes));
}

Napi::Value Discard(const Napi::CallbackInfo& info) {
  splicerArg(info)->discard();
  return info.Env().Undefined();
}

Napi::Value Finish(const Napi::CallbackInfo& info) {
  h5n::Splicer* splicer = splicerArg(info);
  uint64_t size = bind::guard(info.Env(), [&] { return splicer->finish(); });
  return Napi::Number::New(info.Env(), static_cast<double>(size));
}

Napi::Value Abort(const Napi::CallbackInfo& info) {
  splicerArg(info)->abort();
  return info.Env().Undefined();
}

// spliceOpen(path) -> file handle: opens an existing file for writing with
// libhdf5's default format bounds (as files are created here), so objects
// added to a spliced file are written as in any other file of this library.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = bind::stringArg(info, 0, "path");
  h5n::FileHandle* handle = bind::guard(env, [&] {
    h5n::FileHandle* h = h5n::openFile(path, h5n::OpenMode::ReadWrite, true);
    if (H5Fset_libver_bounds(h->fid, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST) < 0) {
      try {
        h5n::throwStack("cannot set the format bounds of " + path);
      } catch (...) {
        try {
          h5n::closeFile(h);
        } catch (...) {
        }
        delete h;
        throw;
      }
    }
    return h;
  });
  return bind::wrapHandle(env, handle);
}

// spliceCopyWithoutAttrs(src, srcPath, dst, dstPath): H5Ocopy of an object
// and everything below it, without any attribute (H5O_COPY_WITHOUT_ATTR_FLAG).
// libhdf5 1.10.8 crashes copying variable-length attributes kept in dense
// storage (version 2 object headers with many attributes); callers that
// write the attributes themselves avoid that path.
Napi::Value CopyWithoutAttrs(const Napi::CallbackInfo& info) {
  h5n::FileHandle* src = bind::handleArg(info, 0);
  std::string srcPath = bind::stringArg(info, 1, "srcPath");
  h5n::FileHandle* dst = bind::handleArg(info, 2);
  std::string dstPath = bind::stringArg(info, 3, "dstPath");
  bind::guard(info.Env(), [&] {
    h5n::Hid ocpypl(H5Pcreate(H5P_OBJECT_COPY), "cannot create an object copy property list");
    h5n::check(H5Pset_copy_object(ocpypl, H5O_COPY_WITHOUT_ATTR_FLAG), "cannot set object copy flags");
    h5n::copyObject(src->fid, srcPath, dst->fid, dstPath, ocpypl);
  });
  return info.Env().Undefined();
}

}  // namespace

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("spliceScan", Napi::Function::New(env, Scan, "spliceScan"));
  exports.Set("spliceScanAsync", Napi::Function::New(env, ScanAsync, "spliceScanAsync"));
  exports.Set("spliceScanAttrs", Napi::Function::New(env, ScanAttrs, "spliceScanAttrs"));
  exports.Set("spliceScanAttrsAsync", Napi::Function::New(env, ScanAttrsAsync, "spliceScanAttrsAsync"));
  exports.Set("spliceBegin", Napi::Function::New(env, Begin, "spliceBegin"));
  exports.Set("spliceAdd", Napi::Function::New(env, Add, "spliceAdd"));
  exports.Set("spliceCommit", Napi::Function::New(env, Commit, "spliceCommit"));
  exports.Set("spliceDiscard", Napi::Function::New(env, Discard, "spliceDiscard"));
  exports.Set("spliceFinish", Napi::Function::New(env, Finish, "spliceFinish"));
  exports.Set("spliceAbort", Napi::Function::New(env, Abort, "spliceAbort"));
  exports.Set("spliceOpen", Napi::Function::New(env, Open, "spliceOpen"));
  exports.Set("spliceCopyWithoutAttrs", Napi::Function::New(env, CopyWithoutAttrs, "spliceCopyWithoutAttrs"));
}

}  // namespace h5n_splice
