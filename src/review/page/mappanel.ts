/**
 * An image of glass-brain views (the map of the file, or the coil view's
 * outline) with an SVG over it: the current coil position marked in every
 * view, and on the map a click lists the traces whose coordinates are drawn
 * near the pointer (a site).
 * @module
 */
import type { Pixel } from "./types.js";

const SVG = "http://www.w3.org/2000/svg";

export class GlassPanel {
  readonly root: HTMLElement;
  readonly img: HTMLImageElement;
  readonly #svg: SVGSVGElement;
  #points: { index: number; pixels: Pixel[] }[] = [];
  readonly #onSite: ((indices: number[]) => void) | undefined;

  constructor(alt: string, onSite?: (indices: number[]) => void) {
    this.root = document.createElement("div");
    this.root.className = "glass";
    this.img = document.createElement("img");
    this.img.alt = alt;
    this.#svg = document.createElementNS(SVG, "svg");
    this.root.append(this.img, this.#svg);
    this.#onSite = onSite;
    if (onSite) this.#svg.addEventListener("click", (e) => this.#click(e));
  }

  /** Loads an image of `width` x `height` pixels; resolves when it is shown. */
  load(src: string, width: number, height: number): Promise<void> {
    this.#svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.root.style.aspectRatio = `${width} / ${height}`;
    return new Promise((resolve, reject) => {
      this.img.onload = () => resolve();
      this.img.onerror = () => reject(new Error(`the image ${src} did not load`));
      this.img.src = src;
    });
  }

  set points(points: { index: number; pixels: Pixel[] }[]) {
    this.#points = points;
  }

  /** Marks the coil at these pixels (none: no mark). */
  mark(pixels: Pixel[]): void {
    this.#svg.replaceChildren();
    for (const p of pixels) {
      const g = document.createElementNS(SVG, "g");
      g.setAttribute("class", "coil");
      for (const [x1, y1, x2, y2] of [
        [p.x - 12, p.y, p.x - 4, p.y],
        [p.x + 4, p.y, p.x + 12, p.y],
        [p.x, p.y - 12, p.x, p.y - 4],
        [p.x, p.y + 4, p.x, p.y + 12],
      ] as const) {
        const l = document.createElementNS(SVG, "line");
        l.setAttribute("x1", String(x1));
        l.setAttribute("y1", String(y1));
        l.setAttribute("x2", String(x2));
        l.setAttribute("y2", String(y2));
        g.append(l);
      }
      const c = document.createElementNS(SVG, "circle");
      c.setAttribute("cx", String(p.x));
      c.setAttribute("cy", String(p.y));
      c.setAttribute("r", "4");
      g.append(c);
      this.#svg.append(g);
    }
  }

  /** The traces drawn within `radius` image pixels of (x, y) in any view. */
  siteAt(x: number, y: number, radius = 6): number[] {
    return this.#points.filter((p) => p.pixels.some((q) => Math.hypot(q.x - x, q.y - y) <= radius)).map((p) => p.index);
  }

  #click(e: MouseEvent): void {
    const rect = this.#svg.getBoundingClientRect();
    const vb = this.#svg.viewBox.baseVal;
    const x = ((e.clientX - rect.left) / rect.width) * vb.width;
    const y = ((e.clientY - rect.top) / rect.height) * vb.height;
    this.#onSite?.(this.siteAt(x, y));
  }

  /** The page pixel of an image pixel (for tests). */
  pagePixel(x: number, y: number): { x: number; y: number } {
    const rect = this.#svg.getBoundingClientRect();
    const vb = this.#svg.viewBox.baseVal;
    return { x: rect.left + (x / vb.width) * rect.width, y: rect.top + (y / vb.height) * rect.height };
  }
}
