/*
 * Plain-C baseline: merge CacheFiles by copying every origin group.
 *
 *   merge TARGET.hdf5 SOURCE.hdf5...
 *
 * Creates TARGET (H5Fcreate, H5F_ACC_TRUNC, default property lists, as the
 * project's native layer creates files), then for each SOURCE in the order
 * given: opens it read-only (H5F_ACC_RDONLY, default file access list), lists
 * its root links by name (increasing) and H5Ocopy's each one (an origin
 * group with its attributes and traces) to the same name in TARGET, and
 * closes it. No checks (unique names, identical origin keys): this is the
 * floor for libhdf5 doing the copying, not a full merge.
 *
 * Prints one JSON line: {"seconds": ..., "sources": ..., "objects": ...}
 * `seconds` covers H5Fcreate to the H5Fclose of TARGET (which flushes it to
 * the page cache; no fsync); `objects` counts the H5Ocopy calls.
 */
#include "common.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s TARGET.hdf5 SOURCE.hdf5...\n", argv[0]);
    return 2;
  }
  if (H5open() < 0) die("cannot initialise libhdf5", NULL);
  const char *target = argv[1];
  names_t members = {0};
  size_t objects = 0;

  double t0 = now_seconds();
  hid_t dst = H5Fcreate(target, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  CHECK(dst, "cannot create", target);
  for (int i = 2; i < argc; i++) {
    hid_t src = H5Fopen(argv[i], H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(src, "cannot open", argv[i]);
    list_links(src, &members, argv[i]);
    for (size_t m = 0; m < members.len; m++) {
      CHECK(H5Ocopy(src, members.items[m], dst, members.items[m], H5P_DEFAULT, H5P_DEFAULT), "cannot copy",
            members.items[m]);
      objects++;
    }
    CHECK(H5Fclose(src), "cannot close", argv[i]);
  }
  CHECK(H5Fclose(dst), "cannot close", target);
  double seconds = now_seconds() - t0;

  printf("{\"seconds\": %.6f, \"sources\": %d, \"objects\": %zu, \"hdf5\": \"%u.%u.%u\"}\n", seconds, argc - 2,
         objects, H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
  names_free(&members);
  return 0;
}
