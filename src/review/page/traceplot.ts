/**
 * The trace view: one trace after its `_log` steps, with uPlot; x in ms
 * from the pulse, the pulse marked, the peak and baseline windows shaded,
 * the stored peaks marked (filled) beside the estimate (hollow); a stored
 * peak can be dragged, and a click sets a peak; both snap to the extremum
 * near the pointer.
 * @module
 */
import uPlot from "uplot";
import type { TraceView } from "./types.js";

/** A peak set on the plot: which one, and where. */
export interface PeakPick {
  which: "neg" | "pos";
  latency: number;
  magnitude: number;
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
/** Half width of the window the pointer snaps in, ms. */
const SNAP_MS = 2;

/** Times of the samples, ms from the pulse. */
export function timesOf(v: TraceView): number[] {
  const fs = v.samplingrate ?? 1000;
  const p0 = v.pulseSample ?? 0;
  return Array.from({ length: v.shape[0] }, (_, n) => ((n - p0) * 1000) / fs);
}

/** One channel's samples. */
export function channelOf(v: TraceView, c: number): (number | null)[] {
  const ch = v.shape[1];
  return Array.from({ length: v.shape[0] }, (_, n) => v.samples[n * ch + c] ?? null);
}

/**
 * The extremum near `ms` in the channel of interest: the minimum (`neg`),
 * the maximum (`pos`), or whichever of the two lies nearer to `uv`.
 */
export function snap(v: TraceView, ms: number, which: "neg" | "pos" | { nearest: number }): PeakPick | undefined {
  const t = timesOf(v);
  const y = channelOf(v, v.channelOfInterest);
  let lo: number | undefined;
  let hi: number | undefined;
  for (let n = 0; n < t.length; n++) {
    if (Math.abs(t[n]! - ms) > SNAP_MS || y[n] === null) continue;
    if (lo === undefined || y[n]! < y[lo]!) lo = n;
    if (hi === undefined || y[n]! > y[hi]!) hi = n;
  }
  if (lo === undefined || hi === undefined) return undefined;
  let pick: "neg" | "pos";
  if (typeof which === "string") pick = which;
  else pick = Math.abs(y[lo]! - which.nearest) <= Math.abs(y[hi]! - which.nearest) ? "neg" : "pos";
  const n = pick === "neg" ? lo : hi;
  return { which: pick, latency: t[n]!, magnitude: y[n]! };
}

export class TracePlot {
  #u: uPlot | undefined;
  #view: TraceView | undefined;
  #series = "";
  #channels: number[] = [];
  #whole = false;
  #drag: { which: "neg" | "pos"; x: number; y: number } | undefined;
  #down: { x: number; y: number } | undefined;
  readonly #el: HTMLElement;
  readonly #onPick: (p: PeakPick) => void;

  constructor(el: HTMLElement, onPick: (p: PeakPick) => void) {
    this.#el = el;
    this.#onPick = onPick;
    new ResizeObserver(() => this.#u?.setSize(this.#size())).observe(el);
    window.addEventListener("mouseup", (e) => this.#mouseup(e));
  }

  #size(): { width: number; height: number } {
    return { width: Math.max(300, this.#el.clientWidth), height: Math.max(220, this.#el.clientHeight) };
  }

  /** Whether the whole trace is shown (else -120..250 ms around the pulse, where the trace is longer). */
  set whole(on: boolean) {
    this.#whole = on;
    this.#u?.redraw(true, true);
    if (this.#u && this.#view) this.#u.setScale("x", this.#xRange());
  }

  get whole(): boolean {
    return this.#whole;
  }

  #xRange(): { min: number; max: number } {
    const t = this.#view ? timesOf(this.#view) : [0, 1];
    const min = t[0] ?? 0;
    const max = t[t.length - 1] ?? 1;
    if (this.#whole || max - min <= 600) return { min, max };
    return { min: Math.max(min, -120), max: Math.min(max, 250) };
  }

  /** Draws `view`, its channels `channels` (the channel of interest first by default). */
  show(view: TraceView, channels: number[]): void {
    this.#view = view;
    this.#channels = channels;
    const t = timesOf(view);
    const data: uPlot.AlignedData = [t, ...channels.map((c) => channelOf(view, c))];
    const key = channels.map((c) => view.channels[c]).join("|");
    if (!this.#u || key !== this.#series) {
      this.#u?.destroy();
      this.#series = key;
      this.#u = this.#make(view, channels, data);
    } else {
      this.#u.setData(data, false);
      this.#u.setScale("x", this.#xRange());
    }
  }

  #yRange(): [number, number] {
    const v = this.#view;
    if (!v) return [-1, 1];
    const { min, max } = this.#xRange();
    const t = timesOf(v);
    let lo = Infinity;
    let hi = -Infinity;
    for (const c of this.#channels) {
      const y = channelOf(v, c);
      for (let n = 0; n < t.length; n++) {
        if (t[n]! < min || t[n]! > max || y[n] === null) continue;
        if (y[n]! < lo) lo = y[n]!;
        if (y[n]! > hi) hi = y[n]!;
      }
    }
    if (!(lo <= hi)) return [-1, 1];
    if (lo === hi) return [lo - 1, hi + 1];
    const m = 0.06 * (hi - lo);
    return [lo - m, hi + m];
  }

  #make(view: TraceView, channels: number[], data: uPlot.AlignedData): uPlot {
    const opts: uPlot.Options = {
      ...this.#size(),
      scales: { x: { time: false, range: () => { const r = this.#xRange(); return [r.min, r.max]; } }, y: { range: () => this.#yRange() } },
      axes: [
        { label: "ms from the pulse", stroke: "#333", grid: { stroke: "#eee" } },
        { label: "µV", stroke: "#333", grid: { stroke: "#eee" }, size: 60 },
      ],
      series: [{ label: "ms" }, ...channels.map((c, k) => ({ label: view.channels[c], stroke: COLORS[k % COLORS.length], width: c === view.channelOfInterest ? 1.6 : 1 }))],
      cursor: { drag: { x: false, y: false, setScale: false }, points: { show: false } },
      legend: { show: channels.length > 1 },
      hooks: { drawClear: [(u) => this.#shade(u)], draw: [(u) => this.#marks(u)] },
    };
    const u = new uPlot(opts, data, this.#el);
    u.over.addEventListener("mousedown", (e) => this.#mousedown(e));
    u.over.addEventListener("mousemove", (e) => this.#mousemove(e));
    return u;
  }

  /** The peak and baseline windows (under the trace), and the pulse. */
  #shade(u: uPlot): void {
    const v = this.#view;
    if (!v) return;
    const ctx = u.ctx;
    const { top, height } = u.bbox;
    const band = (a: number, b: number, color: string) => {
      const x0 = u.valToPos(a, "x", true);
      const x1 = u.valToPos(b, "x", true);
      ctx.fillStyle = color;
      ctx.fillRect(x0, top, x1 - x0, height);
    };
    ctx.save();
    band(v.windows.baseline[0], v.windows.baseline[1], "rgba(120, 120, 120, 0.12)");
    band(v.windows.peak[0], v.windows.peak[1], "rgba(255, 200, 0, 0.16)");
    const x = u.valToPos(0, "x", true);
    ctx.strokeStyle = "#d62728";
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.restore();
  }

  /** The stored peak (µV, ms) of `which`, when set. */
  #stored(which: "neg" | "pos"): { x: number; y: number } | undefined {
    const a = this.#view?.attrs;
    const lat = a?.[`${which}_peak_latency_ms`];
    const mag = a?.[`${which}_peak_magnitude_uv`];
    return typeof lat === "number" && typeof mag === "number" ? { x: lat, y: mag } : undefined;
  }

  #marks(u: uPlot): void {
    const v = this.#view;
    if (!v || !this.#channels.includes(v.channelOfInterest)) return;
    const ctx = u.ctx;
    const r = 6 * devicePixelRatio;
    ctx.save();
    const tri = (x: number, y: number, down: boolean, color: string, fill: boolean) => {
      const px = u.valToPos(x, "x", true);
      const py = u.valToPos(y, "y", true);
      ctx.beginPath();
      const s = down ? 1 : -1;
      ctx.moveTo(px, py + s * r * 0.2);
      ctx.lineTo(px - r, py - s * r * 1.4);
      ctx.lineTo(px + r, py - s * r * 1.4);
      ctx.closePath();
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      if (fill) ctx.fill();
      else ctx.stroke();
    };
    const e = v.estimate;
    if (e) {
      tri(e.neg_peak_latency_ms, e.neg_peak_magnitude_uv, false, "#2b6cb0", false);
      tri(e.pos_peak_latency_ms, e.pos_peak_magnitude_uv, true, "#c53030", false);
    }
    const drag = this.#drag;
    for (const which of ["neg", "pos"] as const) {
      const s = drag?.which === which ? { x: drag.x, y: drag.y } : this.#stored(which);
      if (s) tri(s.x, s.y, which === "pos", which === "neg" ? "#2b6cb0" : "#c53030", true);
    }
    ctx.restore();
  }

  #pointer(e: MouseEvent): { x: number; y: number; px: number; py: number } | undefined {
    const u = this.#u;
    if (!u) return undefined;
    const rect = u.over.getBoundingClientRect();
    const px = e.clientX - rect.left;
    const py = e.clientY - rect.top;
    return { x: u.posToVal(px, "x"), y: u.posToVal(py, "y"), px, py };
  }

  #mousedown(e: MouseEvent): void {
    const p = this.#pointer(e);
    const u = this.#u;
    if (!p || !u || e.button !== 0) return;
    this.#down = { x: p.px, y: p.py };
    for (const which of ["neg", "pos"] as const) {
      const s = this.#stored(which);
      if (!s) continue;
      const dx = u.valToPos(s.x, "x") - p.px;
      const dy = u.valToPos(s.y, "y") - p.py;
      if (dx * dx + dy * dy <= 12 * 12) {
        this.#drag = { which, x: s.x, y: s.y };
        e.preventDefault();
        return;
      }
    }
  }

  #mousemove(e: MouseEvent): void {
    if (!this.#drag || !this.#view) return;
    const p = this.#pointer(e);
    if (!p) return;
    const snapped = snap(this.#view, p.x, this.#drag.which);
    if (snapped) {
      this.#drag = { which: this.#drag.which, x: snapped.latency, y: snapped.magnitude };
      this.#u?.redraw(false, false);
    }
  }

  #mouseup(e: MouseEvent): void {
    const down = this.#down;
    this.#down = undefined;
    const drag = this.#drag;
    this.#drag = undefined;
    if (!down || !this.#view) return;
    const p = this.#pointer(e);
    if (!p) return;
    if (drag) {
      const s = this.#stored(drag.which);
      if (!s || s.x !== drag.x || s.y !== drag.y) this.#onPick({ which: drag.which, latency: drag.x, magnitude: drag.y });
      return;
    }
    if (Math.abs(p.px - down.x) > 4 || Math.abs(p.py - down.y) > 4) return;
    if (p.px < 0 || p.py < 0 || p.px > (this.#u?.over.clientWidth ?? 0) || p.py > (this.#u?.over.clientHeight ?? 0)) return;
    const pick = snap(this.#view, p.x, { nearest: p.y });
    if (pick) this.#onPick(pick);
  }

  /** Where the stored peak `which` is drawn, in page pixels (for tests and the help). */
  markerAt(which: "neg" | "pos"): { x: number; y: number } | undefined {
    const u = this.#u;
    const s = this.#stored(which);
    if (!u || !s) return undefined;
    const rect = u.over.getBoundingClientRect();
    return { x: rect.left + u.valToPos(s.x, "x"), y: rect.top + u.valToPos(s.y, "y") };
  }

  /** The page pixel of a time and value on the plot. */
  pixelOf(ms: number, uv: number): { x: number; y: number } | undefined {
    const u = this.#u;
    if (!u) return undefined;
    const rect = u.over.getBoundingClientRect();
    return { x: rect.left + u.valToPos(ms, "x"), y: rect.top + u.valToPos(uv, "y") };
  }
}
