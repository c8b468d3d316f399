/**
 * The butterfly overview: every trace of an origin overlaid on one canvas
 * (rejected ones pale red), the current one highlighted; a click picks the
 * trace nearest to the pointer.
 * @module
 */
import type { Overview } from "./types.js";

export class Butterfly {
  readonly canvas: HTMLCanvasElement;
  #data: Overview | undefined;
  #current = -1;
  #range: [number, number] = [-1, 1];
  readonly #onPick: (index: number) => void;

  constructor(canvas: HTMLCanvasElement, onPick: (index: number) => void) {
    this.canvas = canvas;
    this.#onPick = onPick;
    canvas.addEventListener("click", (e) => this.#click(e));
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  show(data: Overview, current: number): void {
    this.#data = data;
    this.#current = current;
    let lo = Infinity;
    let hi = -Infinity;
    for (const row of data.values) for (const v of row) if (v !== null) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.#range = lo <= hi ? [lo - 0.05 * (hi - lo + 1), hi + 0.05 * (hi - lo + 1)] : [-1, 1];
    this.draw();
  }

  /** Updates which traces are rejected (after an edit: the samples are the same). */
  rejects(isRejected: (index: number) => boolean): void {
    const d = this.#data;
    if (!d) return;
    d.indices.forEach((i, k) => (d.reject[k] = isRejected(i)));
    this.draw();
  }

  set current(index: number) {
    this.#current = index;
    this.draw();
  }

  #geometry() {
    const w = this.canvas.clientWidth || 400;
    const h = this.canvas.clientHeight || 200;
    const pad = { l: 66, r: 8, t: 8, b: 22 };
    const d = this.#data!;
    const X = (c: number) => pad.l + (c / Math.max(1, d.columns - 1)) * (w - pad.l - pad.r);
    const Y = (v: number) => pad.t + ((this.#range[1] - v) / (this.#range[1] - this.#range[0])) * (h - pad.t - pad.b);
    return { w, h, pad, X, Y };
  }

  draw(): void {
    const d = this.#data;
    const ctx = this.canvas.getContext("2d");
    if (!ctx || !d) return;
    const { w, h, pad, X, Y } = this.#geometry();
    const dpr = devicePixelRatio;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
    const line = (row: (number | null)[]) => {
      ctx.beginPath();
      let pen = false;
      for (let c = 0; c < row.length; c++) {
        const v = row[c];
        if (v === null || v === undefined) {
          pen = false;
          continue;
        }
        if (pen) ctx.lineTo(X(c), Y(v));
        else ctx.moveTo(X(c), Y(v));
        pen = true;
      }
      ctx.stroke();
    };
    ctx.lineWidth = 1;
    ctx.strokeStyle = "rgba(31, 119, 180, 0.18)";
    d.values.forEach((row, k) => {
      if (!d.reject[k] && d.indices[k] !== this.#current) line(row);
    });
    ctx.strokeStyle = "rgba(214, 39, 40, 0.25)";
    d.values.forEach((row, k) => {
      if (d.reject[k] && d.indices[k] !== this.#current) line(row);
    });
    const k = d.indices.indexOf(this.#current);
    if (k >= 0) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#ff7f0e";
      line(d.values[k]!);
    }
    // The pulse and the axes' labels.
    const c0 = (0 - d.t0) / d.dt;
    ctx.strokeStyle = "#d62728";
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(X(c0), pad.t);
    ctx.lineTo(X(c0), h - pad.b);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#333";
    ctx.font = "11px sans-serif";
    ctx.fillText(`${d.t0} ms`, pad.l, h - 6);
    ctx.textAlign = "right";
    ctx.fillText(`${Math.round(d.t0 + d.dt * d.columns)} ms`, w - pad.r, h - 6);
    ctx.fillText(`${Math.round(this.#range[1])} µV`, pad.l - 4, pad.t + 9);
    ctx.fillText(`${Math.round(this.#range[0])} µV`, pad.l - 4, h - pad.b);
    ctx.textAlign = "left";
  }

  #click(e: MouseEvent): void {
    const d = this.#data;
    if (!d) return;
    const rect = this.canvas.getBoundingClientRect();
    const { X, Y } = this.#geometry();
    const px = e.clientX - rect.left;
    const py = e.clientY - rect.top;
    let best = -1;
    let dist = Infinity;
    d.values.forEach((row, k) => {
      for (let c = 0; c < row.length; c++) {
        const v = row[c];
        if (v === null || v === undefined) continue;
        const dd = Math.hypot(X(c) - px, Y(v) - py);
        if (dd < dist) {
          dist = dd;
          best = k;
        }
      }
    });
    if (best >= 0 && dist < 12) this.#onPick(d.indices[best]!);
  }
}
