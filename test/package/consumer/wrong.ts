// A wrong update: reject is a boolean. The directive passes only if this IS a type error.
import { CacheFile } from "offspect-cachefile";

export async function wrong(path: string): Promise<void> {
  const cf = await CacheFile.open(path);
  // @ts-expect-error reject takes true or false, not text
  await cf.update(0, { reject: "yes" });
}
