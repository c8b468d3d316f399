// Run with --enable-source-maps: a library error's stack, mapped through the shipped source maps.
import { CacheFile } from "offspect-cachefile";

try {
  new CacheFile("/nonexistent/missing.hdf5");
} catch (e) {
  console.log(JSON.stringify({ code: e.code, stack: e.stack }));
}
