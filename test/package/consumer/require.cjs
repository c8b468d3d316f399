// A CommonJS consumer: require() of this ESM-only package (require(esm), Node >= 20.19 / 22.12).
const lib = require("offspect-cachefile");
console.log(JSON.stringify({ CacheFile: typeof lib.CacheFile, hdf5: lib.hdf5Version() }));
