// Splicing HDF5 files: concatenates whole files into one new file whose root
// group holds every source's root members. Each source's bytes are copied
// (in bounded chunks) into the target at an offset, and every file address
// inside the structures reachable from its root members is relocated on the
// way; then a new superblock and a new root group (object header, v1 B-tree,
// symbol table nodes, local heap) pointing at the relocated members are
// written. No libhdf5 call is involved, so the cost is close to copying the
// bytes.
//
// Only the subset of the format that libhdf5 writes with default settings
// (h5py's defaults included) is accepted: superblock version 0 or 1 with
// 8-byte offsets and lengths, base address 0 and symbol-table K values 4/16;
// version 1 object headers; symbol-table ("old-style") groups; datasets of
// fixed- or floating-point type with contiguous or compact layout; string
// attributes (fixed-length, or variable-length in global heap collections).
// Anything else makes the source "unsupported" with a reason, before anything
// of it is written; so does anything that does not check out (addresses
// outside the file, structures running past their end or overlapping,
// cycles, broken heaps), which is reported as "damaged": libhdf5 itself may
// fail on such files, or crash.
//
// Generic: nothing here knows what the file holds.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace h5n {

// One object reachable from the root, in preorder (a group, then its members
// in increasing byte-wise name order). Attributes are strings, as libhdf5
// reads them (see readStringAttrs in ops.h), packed as readAttrs packs them.
struct SpliceObject {
  std::string path;  // "/" for the root, "/a/b" below it
  int kind = 0;      // Kind (ops.h): KindGroup or KindDataset
  int depth = 0;     // 0 for the root
  int plain = -1;    // datasets: 1 if little-endian IEEE float64, contiguous, unfiltered, else 0; groups: -1
  bool hasAttrs = false;    // attributes were read (depth <= attrDepth)
  std::string attrs;        // "name\0value\0..." in increasing byte-wise name order
  std::string nonStandard;  // "name\0..." of those that are not scalar variable-length UTF-8 strings
};

// How far a parse reports: objects down to `maxDepth` (members of groups at
// that depth are not listed), attributes of objects down to `attrDepth`.
// Splicing always parses everything; these only limit what is reported.
struct SpliceLimits {
  int maxDepth = 1 << 20;
  int attrDepth = 1 << 20;
};

struct SpliceReport {
  bool supported = false;
  bool damaged = false;              // not supported because the bytes contradict the format
  std::string reason;                // why not, when not supported
  std::vector<SpliceObject> objects; // when supported
};

// Parses `path` (under a shared flock) without writing anything. Throws
// h5n::Error for files that cannot be opened (ENOENT, EACCES, EBUSY when
// another process holds a conflicting lock, EIO).
SpliceReport spliceScan(const std::string& path, const SpliceLimits& limits);

// Writes one spliced file. Usage: stage(source) parses a source and, when it
// is supported, keeps it open (shared flock) until commit() copies it into
// the target or discard() drops it; finish() writes the root group and the
// superblock and closes the target. Any failure leaves the object failed:
// abort() (or the destructor) closes everything; the caller removes the
// half-written target.
class Splicer {
 public:
  // Creates `target` (which must not exist).
  explicit Splicer(const std::string& target);
  ~Splicer();
  Splicer(const Splicer&) = delete;
  Splicer& operator=(const Splicer&) = delete;

  SpliceReport stage(const std::string& source, const SpliceLimits& limits);
  // Copies the staged source; returns the number of bytes copied.
  uint64_t commit();
  void discard();
  // Returns the size of the finished file.
  uint64_t finish();
  void abort();
  bool open() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace h5n

namespace h5n_splice {

// spliceScan, spliceBegin, spliceAdd, spliceCommit, spliceDiscard,
// spliceFinish, spliceAbort, spliceOpen, spliceCopyWithoutAttrs.
void Register(Napi::Env env, Napi::Object exports);

}  // namespace h5n_splice
