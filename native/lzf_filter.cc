// h5py's LZF filter (HDF5 filter id 32000), over Debian's liblzf (BSD-2,
// Marc Lehmann), registered with libhdf5 when the addon loads so that every
// filter h5py writes by default reads here. Stored as h5py stores it: the
// filter is optional (a chunk LZF cannot shrink stays uncompressed), and its
// client data are [filter revision 4, liblzf's API version, chunk size in
// bytes]; the chunk size sizes the buffer a chunk decompresses into.
#include <lzf.h>
#include <stdlib.h>

#include "binding.h"
#include "errors.h"

namespace h5n {

namespace {

constexpr H5Z_filter_t kLzf = 32000;
constexpr unsigned kRevision = 4;
constexpr size_t kMaxChunk = size_t(1) << 30;

void pushError(const char* func, const char* message) {
  H5Epush2(H5E_DEFAULT, __FILE__, func, __LINE__, H5E_ERR_CLS, H5E_PLINE, H5E_CALLBACK, "%s", message);
}

// Records the chunk size in the dataset's filter parameters.
herr_t setLocal(hid_t dcpl, hid_t type, hid_t) {
  unsigned flags = 0;
  size_t nelmts = 8;
  unsigned values[8] = {0};
  if (H5Pget_filter_by_id2(dcpl, kLzf, &flags, &nelmts, values, 0, nullptr, nullptr) < 0) return -1;
  hsize_t dims[H5S_MAX_RANK];
  int rank = H5Pget_chunk(dcpl, H5S_MAX_RANK, dims);
  size_t size = H5Tget_size(type);
  if (rank <= 0 || size == 0) return -1;
  for (int i = 0; i < rank; ++i) size *= dims[i];
  if (size > kMaxChunk) {
    pushError("lzf_set_local", "an LZF chunk holds at most 1 GiB");
    return -1;
  }
  values[0] = kRevision;
  values[1] = LZF_VERSION;
  values[2] = static_cast<unsigned>(size);
  return H5Pmodify_filter(dcpl, kLzf, flags, nelmts < 3 ? 3 : nelmts, values);
}

size_t filter(unsigned flags, size_t cdNelmts, const unsigned cdValues[], size_t nbytes, size_t* bufSize, void** buf) {
  if (nbytes > 0xFFFFFFFFu) return 0;
  if (!(flags & H5Z_FLAG_REVERSE)) {
    void* out = malloc(nbytes);
    if (out == nullptr) return 0;
    unsigned n = lzf_compress(*buf, static_cast<unsigned>(nbytes), out, static_cast<unsigned>(nbytes));
    if (n == 0) {  // would not shrink: stored uncompressed (the filter is optional)
      free(out);
      return 0;
    }
    free(*buf);
    *buf = out;
    *bufSize = nbytes;
    return n;
  }
  size_t size = cdNelmts >= 3 && cdValues[2] != 0 ? cdValues[2] : *bufSize;
  for (;;) {
    if (size > kMaxChunk) {
      pushError("lzf_filter", "an LZF chunk decompresses to more than 1 GiB");
      return 0;
    }
    void* out = malloc(size > 0 ? size : 1);
    if (out == nullptr) {
      pushError("lzf_filter", "cannot allocate the LZF decompression buffer");
      return 0;
    }
    errno = 0;
    unsigned n = lzf_decompress(*buf, static_cast<unsigned>(nbytes), out, static_cast<unsigned>(size));
    if (n != 0) {
      free(*buf);
      *buf = out;
      *bufSize = size;
      return n;
    }
    free(out);
    if (errno != E2BIG) {
      pushError("lzf_filter", "invalid LZF data");
      return 0;
    }
    size += *bufSize > 4096 ? *bufSize : 4096;  // a guess too small (no recorded chunk size): grow
  }
}

}  // namespace

void registerLzf() {
  static const H5Z_class2_t lzf = {H5Z_CLASS_T_VERS, kLzf, 1, 1, "lzf", nullptr, setLocal, filter};
  quiet();
  check(H5Zregister(&lzf), "cannot register the LZF filter");
}

}  // namespace h5n
