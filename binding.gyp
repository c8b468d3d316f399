{
  "variables": {
    "hdf5_cflags%": "<!(pkg-config --cflags-only-I hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)",
    "hdf5_libs%": "<!(pkg-config --libs hdf5 2>/dev/null || echo -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5)",
    "lzf_cflags%": "<!(pkg-config --cflags-only-I liblzf 2>/dev/null || echo -I/usr/include/liblzf)",
    "lzf_libs%": "<!(pkg-config --libs liblzf 2>/dev/null || echo -llzf)"
  },
  "targets": [
    {
      "target_name": "offspect_hdf5",
      "sources": [
        "native/binding.cc",
        "native/errors.cc",
        "native/file.cc",
        "native/group.cc",
        "native/attribute.cc",
        "native/dataset.cc",
        "native/lock.cc",
        "native/lzf_filter.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_CPP_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": [
        "-std=c++17",
        "-fexceptions",
        "-fvisibility=hidden",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "<@(hdf5_cflags)",
        "<@(lzf_cflags)"
      ],
      "libraries": ["<@(hdf5_libs)", "<@(lzf_libs)"],
      "ldflags": ["-Wl,-rpath,/usr/lib/x86_64-linux-gnu/hdf5/serial"]
    }
  ]
}
