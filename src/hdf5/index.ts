/**
 * `offspect-cachefile/hdf5`: the low level. An HDF5 file on the real
 * libhdf5 (`H5File`: groups, attributes as text, float64 datasets, links),
 * whole-file helpers and the library's version. CacheFiles need none of
 * it; it is here for files that are not CacheFiles and for tools.
 * @module
 */
export { H5File, hdf5Version, openObjectCount, readFile, writeFile, type ObjectKind, type OpenMode, type OpenOptions, type RawData } from "./file.js";
