/*
 * Shared helpers of the plain-C baselines: a monotonic clock, a growable
 * list of link names (H5Literate by name, increasing: libhdf5's name index,
 * what h5py iterates) and fatal error checks.
 *
 * Only the explicit, numbered API names are used (H5Dopen2, H5Gopen2,
 * H5Aiterate2, ...): Debian's libhdf5 1.10.8 maps the unnumbered macros to
 * the 1.8 API by default (H5_USE_18_API_DEFAULT).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *name) {
  fprintf(stderr, "error: %s%s%s\n", what, name ? ": " : "", name ? name : "");
  H5Eprint2(H5E_DEFAULT, stderr);
  exit(1);
}

#define CHECK(expr, what, name) \
  do {                          \
    if ((expr) < 0) die(what, name); \
  } while (0)

typedef struct {
  char **items;
  size_t len, cap;
} names_t;

static void names_push(names_t *n, const char *s) {
  if (n->len == n->cap) {
    n->cap = n->cap ? 2 * n->cap : 64;
    n->items = realloc(n->items, n->cap * sizeof(char *));
    if (!n->items) die("out of memory", NULL);
  }
  n->items[n->len] = strdup(s);
  if (!n->items[n->len]) die("out of memory", NULL);
  n->len++;
}

static void names_clear(names_t *n) {
  for (size_t i = 0; i < n->len; i++) free(n->items[i]);
  n->len = 0;
}

static void names_free(names_t *n) {
  names_clear(n);
  free(n->items);
  n->items = NULL;
  n->cap = 0;
}

static herr_t collect_link(hid_t group, const char *name, const H5L_info_t *info, void *data) {
  (void)group;
  (void)info;
  names_push((names_t *)data, name);
  return 0;
}

/* Names of the links in a group, by name, increasing (libhdf5's name index). */
static void list_links(hid_t group, names_t *out, const char *what) {
  names_clear(out);
  CHECK(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_link, out), "cannot list", what);
}

#endif
