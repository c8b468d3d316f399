import { accessSync, constants, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { AnnotationFactory, populate, type Annotation } from "../../files/build.js";
import { CacheFile } from "../../cachefile/index.js";
import type { TraceData } from "../../cachefile/index.js";
import { fromErrno, TargetFolderError } from "../../base/errors.js";
import { plotMap } from "../../map/plotmap.js";
import { plotTrace } from "../../map/trace.js";
import { merge } from "../../files/merge.js";
import { mulberry32 } from "../../analysis/prng.js";
import type { Command } from "commander";

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** The motor hotspot of the synthetic subject's left FDI (right hemisphere), MNI mm. */
export const DEMO_HOTSPOT: readonly [number, number, number] = [37, -21, 58];

const FS = 1000;
const PRE = 100;
const POST = 100;

/**
 * One run of synthetic MEPs: the coil walks a 7 x 7 grid (8 mm pitch) over
 * the hotspot, amplitude falls off with distance; about one trace in ten is
 * flagged reject and the last few are not yet inspected (null peaks).
 */
export function demoRun(origin: string, seed: number, pulses: number): { anno: Annotation; traces: TraceData[] } {
  const rand = mulberry32(seed); // the same demo every run
  const factory = new AnnotationFactory({ readin: "tms", readout: "cmep", origin });
  factory.setOriginAttrs({
    channel_labels: ["FDI_L"],
    channel_of_interest: "FDI_L",
    samplingrate: FS,
    samples_pre_event: PRE,
    samples_post_event: POST,
    subject: "DEMO01",
    filedate: "2026-11-25 09:30:00",
    global_comment: "synthetic MEPs written by `cachefile demo`",
  });
  const traces: TraceData[] = [];
  let eventSample = 5000;
  for (let i = 0; i < pulses; i++) {
    const gx = (i % 7) - 3;
    const gy = Math.floor(i / 7) % 7 - 3;
    const coords: [number, number, number] = [
      DEMO_HOTSPOT[0] + gx * 8 + gaussian(rand),
      DEMO_HOTSPOT[1] + gy * 8 + gaussian(rand),
      DEMO_HOTSPOT[2] - 0.08 * (gx * gx + gy * gy) * 8 + gaussian(rand) * 0.5,
    ];
    const d2 = (coords[0] - DEMO_HOTSPOT[0]) ** 2 + (coords[1] - DEMO_HOTSPOT[1]) ** 2 + (coords[2] - DEMO_HOTSPOT[2]) ** 2;
    const amplitude = 1800 * Math.exp(-d2 / (2 * 14 ** 2)) * Math.exp(0.35 * gaussian(rand));
    const latency = 22 + gaussian(rand); // ms
    const data = new Float64Array(PRE + POST);
    for (let s = 0; s < data.length; s++) {
      const t = (s - PRE) / FS; // seconds after the pulse
      const noise = 4 * gaussian(rand) + 15 * Math.sin(2 * Math.PI * 50 * (s / FS) + seed);
      const artefact = s >= PRE && s < PRE + 4 ? 400 * (s % 2 === 0 ? 1 : -1) : 0;
      const u = (t * 1000 - latency) / 3.5;
      const mep = t > 0 ? amplitude * 0.5 * (Math.exp(-((u - 0) ** 2)) - Math.exp(-((u - 1.6) ** 2))) : 0;
      data[s] = mep + noise + artefact;
    }
    let lo = Infinity, hi = -Infinity, loAt = 0, hiAt = 0;
    for (let s = PRE + 10; s < data.length; s++) {
      if (data[s]! < lo) { lo = data[s]!; loAt = s; }
      if (data[s]! > hi) { hi = data[s]!; hiAt = s; }
    }
    const inspected = i < pulses - 6;
    const reject = inspected && rand() < 0.1;
    eventSample += 4000 + Math.floor(rand() * 1500);
    factory.appendTrace({
      event_name: "S  1",
      event_sample: eventSample,
      event_time: eventSample / FS,
      xyz_coords: coords.map((c) => Math.round(c * 100) / 100),
      stimulation_intensity_mso: 62,
      time_since_last_pulse_in_s: i === 0 ? Infinity : 4 + rand() * 1.5,
      reject,
      examiner: inspected ? "demo" : "",
      neg_peak_magnitude_uv: inspected ? Math.round(lo * 100) / 100 : null,
      neg_peak_latency_ms: inspected ? loAt - PRE : null,
      pos_peak_magnitude_uv: inspected ? Math.round(hi * 100) / 100 : null,
      pos_peak_latency_ms: inspected ? hiAt - PRE : null,
      comment: reject ? "muscle pre-activation" : "",
    });
    traces.push({ data, shape: [PRE + POST, 1] });
  }
  return { anno: factory.anno, traces };
}

/**
 * The demo's folder, made (with its parents) if missing.
 * @throws {TargetFolderError} the path, or a folder on the way to it, is a file
 * @throws {PermissionError} the folder may not be made
 */
function makeFolder(out: string): void {
  let existing;
  try {
    existing = statSync(out);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isDirectory()) throw new TargetFolderError(join(out, "run1.hdf5"), out, "not-a-folder");
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "EEXIST") TargetFolderError.check(join(out, "run1.hdf5"));
    // A folder that cannot be made inside a read-only or forbidden one: name the one that refuses.
    if (code === "ENOENT" || code === "EACCES" || code === "EPERM" || code === "EROFS") {
      let parent = dirname(out);
      while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
      try {
        accessSync(parent, constants.W_OK);
      } catch (denied) {
        throw fromErrno(denied, parent, "create a folder in");
      }
    }
    throw fromErrno(e, out, "create");
  }
}

/**
 * `cachefile demo [-o DIR]`: writes two runs of a synthetic session, peeks
 * one, merges both, and renders the motor map and one trace as PNGs. DIR is
 * made if missing.
 */
export async function runDemo(dir: string): Promise<void> {
  const out = resolve(dir);
  makeFolder(out);
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const runs = [demoRun("DEMO01_run1.xdf", 1, 49), demoRun("DEMO01_run2.xdf", 2, 49)];
  const files = runs.map((run, i) => populate(join(out, `run${i + 1}.hdf5`), [run.anno], [run.traces]));
  say(`wrote ${files.join(" and ")}`);
  say("");
  say(`$ cachefile peek ${files[0]}`);
  say(new CacheFile(files[0]!).toString());
  say("");

  const merged = merge(join(out, "merged.hdf5"), files);
  const cf = new CacheFile(merged);
  say(`merged both runs into ${merged}:`);
  say(cf.toString());
  say("");

  const fig = await plotMap(cf, { displayMode: "ortho", title: "DEMO01 FDI_L", smooth: 12.5 });
  const map = join(out, "map.png");
  await fig.toFile(map);
  say(fig.summary);
  say(`wrote the motor map to ${map}`);

  const strongest = { i: 0, vpp: -Infinity };
  runs[0]!.anno.traces.forEach((t, i) => {
    const pos = t["pos_peak_magnitude_uv"];
    const neg = t["neg_peak_magnitude_uv"];
    if (typeof pos !== "number" || typeof neg !== "number" || t["reject"] === true) return;
    if (pos - neg > strongest.vpp) Object.assign(strongest, { i, vpp: pos - neg });
  });
  const trace = await plotTrace(cf, strongest.i);
  const tracePng = join(out, `trace${strongest.i}.png`);
  await trace.toFile(tracePng);
  say(`wrote trace ${strongest.i} (the largest MEP of run 1, ${strongest.vpp.toFixed(1)} µV peak to peak) to ${tracePng}`);
}

/** Declares `cachefile demo`: its arguments, options and action. */
export function register(program: Command): void {
  program
    .command("demo")
      .description("write an example session (two runs of synthetic MEPs around a hotspot), peek, merge and map it")
      .option("-o, --output <dir>", "directory to write into (made if missing)", "cachefile-demo")
      .action((opts: { output: string }) => runDemo(opts.output));;
}
