// A CommonJS consumer: require() of this ESM-only package (require(esm), Node >= 20.19 / 22.12).
const lib = require("offspect-cachefile");
const hdf5 = require("offspect-cachefile/hdf5");
console.log(JSON.stringify({ CacheFile: typeof lib.CacheFile, hdf5: hdf5.hdf5Version() }));
