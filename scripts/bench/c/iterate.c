/*
 * Plain-C baseline: open a CacheFile and iterate every trace's data and
 * attributes, as fast as libhdf5 allows from C.
 *
 *   iterate FILE.hdf5 [--plain] [--cold]
 *
 * Opens FILE read-only as the project's native layer does (H5F_ACC_RDONLY |
 * H5F_ACC_SWMR_READ, libver bounds LATEST..LATEST; --plain: H5F_ACC_RDONLY
 * with the default file access list instead), lists the origins (root links
 * by name, increasing), and per origin the `traces` group, sorted by the
 * numeric value of the names ("2" before "10"). Per trace: H5Dopen2, read
 * the whole dataset as H5T_NATIVE_DOUBLE, H5Aiterate2 by name over every
 * attribute, reading each variable-length string (H5Aread into a char*,
 * copied out into a per-trace buffer, then H5Dvlen_reclaim'ed); fixed-length
 * strings are read too. Everything opened is closed.
 *
 * --cold asks the kernel to drop FILE's pages from the page cache first
 * (posix_fadvise POSIX_FADV_DONTNEED; no privileges needed; a VM's host may
 * still cache the disk).
 *
 * Prints one JSON line:
 *   {"seconds": ..., "traces": ..., "attributes": ..., "checksum": ..., ...}
 * `seconds` covers H5Fopen to H5Fclose (not process start or library
 * initialisation). `checksum` sums every data value and, per attribute, the
 * value's length and first byte, so that nothing can be optimised away.
 */
#include "common.h"

#include <fcntl.h>
#include <unistd.h>

typedef struct {
  hid_t vstr;   /* memory type: variable-length UTF-8 C string */
  hid_t scalar; /* scalar dataspace, for H5Dvlen_reclaim */
  char *arena;  /* the copied-out names and values of the current trace */
  size_t used, cap;
  size_t attributes;
  double checksum;
} ctx_t;

static void arena_put(ctx_t *c, const char *s, size_t len) {
  if (c->used + len + 1 > c->cap) {
    while (c->used + len + 1 > c->cap) c->cap = c->cap ? 2 * c->cap : 4096;
    c->arena = realloc(c->arena, c->cap);
    if (!c->arena) die("out of memory", NULL);
  }
  memcpy(c->arena + c->used, s, len);
  c->arena[c->used + len] = '\0';
  c->used += len + 1;
}

static herr_t read_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
  (void)info;
  ctx_t *c = data;
  hid_t aid = H5Aopen(loc, name, H5P_DEFAULT);
  CHECK(aid, "cannot open attribute", name);
  hid_t ftype = H5Aget_type(aid);
  CHECK(ftype, "cannot get the type of attribute", name);
  if (H5Tget_class(ftype) != H5T_STRING) die("not a string attribute", name);
  arena_put(c, name, strlen(name));
  size_t len;
  unsigned char first;
  if (H5Tis_variable_str(ftype) > 0) {
    char *value = NULL;
    CHECK(H5Aread(aid, c->vstr, &value), "cannot read attribute", name);
    len = value ? strlen(value) : 0;
    arena_put(c, value ? value : "", len);
    first = len ? (unsigned char)value[0] : 0;
    CHECK(H5Dvlen_reclaim(c->vstr, c->scalar, H5P_DEFAULT, &value), "cannot reclaim", name);
  } else {
    size_t size = H5Tget_size(ftype);
    char *value = calloc(size + 1, 1);
    if (!value) die("out of memory", NULL);
    CHECK(H5Aread(aid, ftype, value), "cannot read attribute", name);
    len = strnlen(value, size);
    arena_put(c, value, len);
    first = len ? (unsigned char)value[0] : 0;
    free(value);
  }
  c->checksum += (double)len + (double)first;
  c->attributes++;
  H5Tclose(ftype);
  H5Aclose(aid);
  return 0;
}

static int by_number(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  long long nx = strtoll(x, NULL, 10), ny = strtoll(y, NULL, 10);
  if (nx != ny) return nx < ny ? -1 : 1;
  return strcmp(x, y);
}

int main(int argc, char **argv) {
  const char *file = NULL;
  int plain = 0, cold = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--plain") == 0) plain = 1;
    else if (strcmp(argv[i], "--cold") == 0) cold = 1;
    else if (!file && argv[i][0] != '-') file = argv[i];
    else {
      fprintf(stderr, "usage: %s FILE.hdf5 [--plain] [--cold]\n", argv[0]);
      return 2;
    }
  }
  if (!file) {
    fprintf(stderr, "usage: %s FILE.hdf5 [--plain] [--cold]\n", argv[0]);
    return 2;
  }
  if (cold) {
    int fd = open(file, O_RDONLY);
    if (fd < 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) die("cannot drop the page cache of", file);
    close(fd);
  }
  if (H5open() < 0) die("cannot initialise libhdf5", NULL);

  ctx_t c = {0};
  c.vstr = H5Tcopy(H5T_C_S1);
  CHECK(H5Tset_size(c.vstr, H5T_VARIABLE), "cannot make the string type", NULL);
  CHECK(H5Tset_cset(c.vstr, H5T_CSET_UTF8), "cannot make the string type", NULL);
  c.scalar = H5Screate(H5S_SCALAR);
  CHECK(c.scalar, "cannot make a scalar dataspace", NULL);

  double *buf = NULL;
  size_t bufcap = 0;
  size_t traces = 0;
  names_t origins = {0}, ids = {0};

  double t0 = now_seconds();
  hid_t fapl = H5P_DEFAULT;
  unsigned flags = H5F_ACC_RDONLY;
  if (!plain) {
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    CHECK(fapl, "cannot create a file access list", NULL);
    CHECK(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "cannot set libver bounds", NULL);
    flags |= H5F_ACC_SWMR_READ;
  }
  hid_t fid = H5Fopen(file, flags, fapl);
  CHECK(fid, "cannot open", file);
  if (!plain) H5Pclose(fapl);

  list_links(fid, &origins, "/");
  for (size_t o = 0; o < origins.len; o++) {
    hid_t og = H5Gopen2(fid, origins.items[o], H5P_DEFAULT);
    CHECK(og, "cannot open origin", origins.items[o]);
    hid_t tg = H5Gopen2(og, "traces", H5P_DEFAULT);
    CHECK(tg, "cannot open the traces of", origins.items[o]);
    list_links(tg, &ids, origins.items[o]);
    qsort(ids.items, ids.len, sizeof(char *), by_number);
    for (size_t t = 0; t < ids.len; t++) {
      const char *id = ids.items[t];
      hid_t did = H5Dopen2(tg, id, H5P_DEFAULT);
      CHECK(did, "cannot open trace", id);
      hid_t space = H5Dget_space(did);
      CHECK(space, "cannot get the dataspace of", id);
      hssize_t n = H5Sget_simple_extent_npoints(space);
      CHECK(n, "cannot get the size of", id);
      if ((size_t)n > bufcap) {
        bufcap = (size_t)n;
        free(buf);
        buf = malloc(bufcap * sizeof(double));
        if (!buf) die("out of memory", NULL);
      }
      if (n > 0) {
        CHECK(H5Dread(did, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), "cannot read trace", id);
        double sum = 0;
        for (hssize_t i = 0; i < n; i++) sum += buf[i];
        c.checksum += sum;
      }
      c.used = 0;
      CHECK(H5Aiterate2(did, H5_INDEX_NAME, H5_ITER_INC, NULL, read_attr, &c), "cannot read the attributes of", id);
      H5Sclose(space);
      H5Dclose(did);
      traces++;
    }
    H5Gclose(tg);
    H5Gclose(og);
  }
  ssize_t left = H5Fget_obj_count(fid, H5F_OBJ_ALL | H5F_OBJ_LOCAL);
  CHECK(H5Fclose(fid), "cannot close", file);
  double seconds = now_seconds() - t0;
  if (left != 1) fprintf(stderr, "warning: %zd objects were open before closing (1 expected: the file)\n", left);

  printf("{\"seconds\": %.6f, \"traces\": %zu, \"attributes\": %zu, \"checksum\": %.17g, \"origins\": %zu, "
         "\"mode\": \"%s\", \"cold\": %s, \"hdf5\": \"%u.%u.%u\"}\n",
         seconds, traces, c.attributes, c.checksum, origins.len, plain ? "rdonly" : "rdonly|swmr_read,latest",
         cold ? "true" : "false", H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
  names_free(&origins);
  names_free(&ids);
  free(buf);
  free(c.arena);
  H5Tclose(c.vstr);
  H5Sclose(c.scalar);
  return 0;
}
