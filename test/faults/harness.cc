// Native-only replay of what the probe does to a file, on the binding's own
// C++ (native/ops.cc, errors.cc, file.cc) without Node: for gdb and valgrind,
// which see the first bad read or write here instead of a later symptom in V8.
//
//   g++ -std=c++17 -g -O0 -Inative $(pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial) \
//       test/faults/harness.cc native/ops.cc native/errors.cc native/file.cc \
//       $(pkg-config --libs hdf5 2>/dev/null || echo -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5) -o /tmp/harness
//   valgrind -q /tmp/harness FILE.hdf5 [read|copy|all]
//
// "read" lists the root, each origin and each traces group, then reads every
// attribute and every dataset as float64 (open + iterate + peek); "copy"
// copies each origin group into a new file (merge's H5Ocopy) and inspects
// every copied object. Prints one line per failure, exits 0 unless it crashes.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "file.h"
#include "ops.h"

using namespace h5n;

static void readAll(hid_t fid) {
  std::vector<int> kinds;
  std::vector<std::string> origins = listGroup(fid, "/", &kinds);
  for (size_t o = 0; o < origins.size(); ++o) {
    const std::string group = "/" + origins[o];
    if (kinds[o] != KindGroup) continue;
    try {
      std::string packed;
      Hid obj = openObject(fid, group);
      readStringAttrs(obj, group, packed);
    } catch (const Error& e) {
      std::printf("origin attrs %s: [%s] %s\n", group.c_str(), e.code().c_str(), e.what());
    }
    std::vector<int> okinds;
    std::vector<std::string> members = listGroup(fid, group, &okinds);
    for (size_t m = 0; m < members.size(); ++m) {
      if (members[m] != "traces" || okinds[m] != KindGroup) continue;
      const std::string traces = group + "/traces";
      std::vector<int> tkinds;
      std::vector<std::string> names = listGroup(fid, traces, &tkinds);
      for (size_t t = 0; t < names.size(); ++t) {
        const std::string path = traces + "/" + names[t];
        try {
          Hid dset(H5Dopen2(fid, path.c_str(), H5P_DEFAULT), "cannot open dataset '" + path + "'");
          DataShape shape = numericShape(dset, path, size_t(1) << 28);
          std::vector<double> data(shape.elements);
          readFloat64(dset, path, data.data(), shape);
          std::string packed;
          readStringAttrs(dset, path, packed);
        } catch (const Error& e) {
          std::printf("trace %s: [%s] %s\n", path.c_str(), e.code().c_str(), e.what());
        }
      }
    }
  }
}

static void copyAll(hid_t fid, const char* out) {
  FileHandle* dst = openFile(out, OpenMode::Create, true);
  try {
    for (const std::string& origin : listGroup(fid, "/", nullptr)) {
      const std::string group = "/" + origin;
      try {
        copyObject(fid, group, dst->fid, group);
        std::string packed, nonStandard;
        Hid obj = openObject(dst->fid, group);
        readStringAttrs(obj, group, packed, &nonStandard);
        std::vector<int> kinds;
        for (const std::string& name : listGroup(dst->fid, group + "/traces", &kinds)) {
          const std::string path = group + "/traces/" + name;
          Hid t = openObject(dst->fid, path);
          std::string p2, n2;
          readStringAttrs(t, path, p2, &n2);
          if (H5Iget_type(t) == H5I_DATASET) (void)isPlainFloat64(t);
        }
      } catch (const Error& e) {
        std::printf("copy %s: [%s] %s\n", group.c_str(), e.code().c_str(), e.what());
      }
    }
  } catch (...) {
    closeFile(dst);
    delete dst;
    throw;
  }
  closeFile(dst);
  delete dst;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: harness FILE.hdf5 [read|copy|all]\n");
    return 2;
  }
  const std::string what = argc > 2 ? argv[2] : "all";
  quiet();
  FileHandle* f = nullptr;
  try {
    f = openFile(argv[1], OpenMode::Read, false);
  } catch (const Error& e) {
    std::printf("open: [%s] %s\n", e.code().c_str(), e.what());
    return 0;
  }
  try {
    if (what == "read" || what == "all") readAll(f->fid);
  } catch (const Error& e) {
    std::printf("read: [%s] %s\n", e.code().c_str(), e.what());
  }
  try {
    if (what == "copy" || what == "all") copyAll(f->fid, "/tmp/harness-copy.hdf5");
  } catch (const Error& e) {
    std::printf("copy: [%s] %s\n", e.code().c_str(), e.what());
  }
  try {
    closeFile(f);
  } catch (const Error& e) {
    std::printf("close: [%s] %s\n", e.code().c_str(), e.what());
  }
  delete f;
  std::printf("done\n");
  return 0;
}
