/**
 * The scatter of peak-to-peak amplitude against latency (or background
 * RMS), one point per trace, with a box selection (drag) or a lasso
 * (Shift+drag) whose traces the page then rejects or accepts in one batch.
 * @module
 */

export interface ScatterPoint {
  index: number;
  x: number;
  y: number;
  reject: boolean;
}

/** Whether (x, y) lies inside the polygon (even-odd rule). */
export function insidePolygon(x: number, y: number, poly: readonly { x: number; y: number }[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i]!;
    const b = poly[j]!;
    if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

export class Scatter {
  readonly canvas: HTMLCanvasElement;
  #points: ScatterPoint[] = [];
  #labels = { x: "", y: "" };
  #current = -1;
  #selected = new Set<number>();
  #path: { x: number; y: number }[] | undefined;
  #lasso = false;
  #box: [number, number, number, number] = [0, 1, 0, 1];
  readonly #onSelect: (indices: number[]) => void;
  readonly #onPick: (index: number) => void;

  constructor(canvas: HTMLCanvasElement, onSelect: (indices: number[]) => void, onPick: (index: number) => void) {
    this.canvas = canvas;
    this.#onSelect = onSelect;
    this.#onPick = onPick;
    canvas.addEventListener("mousedown", (e) => this.#start(e));
    canvas.addEventListener("mousemove", (e) => this.#move(e));
    window.addEventListener("mouseup", (e) => this.#end(e));
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /**
   * Shows `points`; the axes keep their range while the same points (the
   * same origin and axis) are shown again and all still fit, so that a point
   * stays where the reviewer saw it.
   */
  show(points: ScatterPoint[], labels: { x: string; y: string }, current: number): void {
    const same = labels.x === this.#labels.x && points.length === this.#points.length && points.every((p, k) => p.index === this.#points[k]!.index);
    this.#points = points;
    this.#labels = labels;
    this.#current = current;
    const [bx0, bx1, by0, by1] = this.#box;
    if (same && points.every((p) => p.x >= bx0 && p.x <= bx1 && p.y >= by0 && p.y <= by1)) {
      this.#selected = new Set([...this.#selected].filter((i) => points.some((p) => p.index === i)));
      this.draw();
      return;
    }
    const xs = points.map((p) => p.x);
    const ys = points.map((p) => p.y);
    const span = (v: number[]): [number, number] => {
      if (v.length === 0) return [0, 1];
      const lo = Math.min(...v);
      const hi = Math.max(...v);
      const m = 0.06 * (hi - lo || 1);
      return [lo - m, hi + m];
    };
    const [x0, x1] = span(xs);
    const [y0, y1] = span(ys);
    this.#box = [x0, x1, y0, y1];
    this.#selected = new Set([...this.#selected].filter((i) => points.some((p) => p.index === i)));
    this.draw();
  }

  set current(index: number) {
    this.#current = index;
    this.draw();
  }

  clearSelection(): void {
    this.#selected.clear();
    this.draw();
  }

  #geometry() {
    const w = this.canvas.clientWidth || 400;
    const h = this.canvas.clientHeight || 240;
    const pad = { l: 52, r: 10, t: 10, b: 30 };
    const [x0, x1, y0, y1] = this.#box;
    const X = (v: number) => pad.l + ((v - x0) / (x1 - x0)) * (w - pad.l - pad.r);
    const Y = (v: number) => pad.t + ((y1 - v) / (y1 - y0)) * (h - pad.t - pad.b);
    return { w, h, pad, X, Y };
  }

  /** The page pixel of a trace's point (for tests). */
  pixelOf(index: number): { x: number; y: number } | undefined {
    const p = this.#points.find((q) => q.index === index);
    if (!p) return undefined;
    const rect = this.canvas.getBoundingClientRect();
    const { X, Y } = this.#geometry();
    return { x: rect.left + X(p.x), y: rect.top + Y(p.y) };
  }

  draw(): void {
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    const { w, h, pad, X, Y } = this.#geometry();
    const dpr = devicePixelRatio;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
    ctx.strokeStyle = "#999";
    ctx.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
    for (const p of this.#points) {
      const sel = this.#selected.has(p.index);
      ctx.beginPath();
      ctx.arc(X(p.x), Y(p.y), p.index === this.#current ? 5 : 3, 0, 2 * Math.PI);
      ctx.fillStyle = p.index === this.#current ? "#ff7f0e" : p.reject ? "rgba(214, 39, 40, 0.6)" : "rgba(31, 119, 180, 0.6)";
      ctx.fill();
      if (sel) {
        ctx.lineWidth = 2;
        ctx.strokeStyle = "#111";
        ctx.stroke();
      }
    }
    const path = this.#path;
    if (path && path.length > 1) {
      ctx.strokeStyle = "#111";
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      if (this.#lasso) {
        ctx.moveTo(path[0]!.x, path[0]!.y);
        for (const q of path) ctx.lineTo(q.x, q.y);
        ctx.closePath();
      } else {
        const a = path[0]!;
        const b = path[path.length - 1]!;
        ctx.rect(a.x, a.y, b.x - a.x, b.y - a.y);
      }
      ctx.stroke();
      ctx.setLineDash([]);
    }
    const [x0, x1, y0, y1] = this.#box;
    ctx.fillStyle = "#333";
    ctx.font = "11px sans-serif";
    ctx.fillText(x0.toFixed(0), pad.l, h - 16);
    ctx.textAlign = "right";
    ctx.fillText(x1.toFixed(0), w - pad.r, h - 16);
    ctx.textAlign = "center";
    ctx.fillText(this.#labels.x, (pad.l + w - pad.r) / 2, h - 4);
    ctx.textAlign = "right";
    ctx.fillText(y1.toFixed(0), pad.l - 4, pad.t + 9);
    ctx.fillText(y0.toFixed(0), pad.l - 4, h - pad.b);
    ctx.save();
    ctx.translate(12, (pad.t + h - pad.b) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(this.#labels.y, 0, 0);
    ctx.restore();
    ctx.textAlign = "left";
  }

  #local(e: MouseEvent): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  }

  #start(e: MouseEvent): void {
    if (e.button !== 0) return;
    this.#lasso = e.shiftKey;
    this.#path = [this.#local(e)];
    e.preventDefault();
  }

  #move(e: MouseEvent): void {
    if (!this.#path) return;
    const p = this.#local(e);
    if (this.#lasso) this.#path.push(p);
    else this.#path = [this.#path[0]!, p];
    this.draw();
  }

  #end(e: MouseEvent): void {
    const path = this.#path;
    this.#path = undefined;
    if (!path) return;
    const end = this.#local(e);
    const { X, Y } = this.#geometry();
    const a = path[0]!;
    if (Math.hypot(end.x - a.x, end.y - a.y) < 4) {
      // A click: the trace of the nearest point.
      let best: ScatterPoint | undefined;
      let dist = 8;
      for (const p of this.#points) {
        const d = Math.hypot(X(p.x) - end.x, Y(p.y) - end.y);
        if (d < dist) {
          dist = d;
          best = p;
        }
      }
      this.draw();
      if (best) this.#onPick(best.index);
      return;
    }
    let inside: (x: number, y: number) => boolean;
    if (this.#lasso) {
      const poly = [...path, end];
      inside = (x, y) => insidePolygon(x, y, poly);
    } else {
      const [l, r] = [Math.min(a.x, end.x), Math.max(a.x, end.x)];
      const [t, b] = [Math.min(a.y, end.y), Math.max(a.y, end.y)];
      inside = (x, y) => x >= l && x <= r && y >= t && y <= b;
    }
    this.#selected = new Set(this.#points.filter((p) => inside(X(p.x), Y(p.y))).map((p) => p.index));
    this.draw();
    this.#onSelect([...this.#selected].sort((x, y) => x - y));
  }
}
