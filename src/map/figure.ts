/**
 * A rendered figure: RGBA pixels computed in TypeScript, encoded as PNG by
 * sharp.
 * @module
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type Sharp from "sharp";
import { lazyModule } from "../base/lazy.js";
import { writeAtomically } from "../cachefile/atomic.js";
import { describe, TargetFolderError } from "../base/errors.js";
import { PlotError } from "./errors.js";

/** sharp (libvips, a native module: tens of milliseconds to load) on the first figure encoded, not when the package is imported. */
const sharp = lazyModule<typeof Sharp>("sharp");

/**
 * A figure: its size in pixels and its PNG. The pixels are computed when
 * the figure is made; the PNG is encoded once, on the first call of
 * {@link Figure.toBuffer} or {@link Figure.toFile} (`savefig`, offspect's name).
 *
 * @example
 * ```ts
 * const fig = await plotGlass([[-37, -21, 58]], [800]);
 * await fig.toFile("map.png"); // or fig.savefig("map.png"), offspect's name
 * const png: Buffer = await fig.toBuffer();
 * ```
 */
export class Figure {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  readonly #rgba: Uint8Array;
  #png: Promise<Buffer> | undefined;

  /** @internal */
  constructor(width: number, height: number, rgba: Uint8Array) {
    this.width = width;
    this.height = height;
    this.#rgba = rgba;
  }

  /** The pixels, row-major RGBA, 4 bytes per pixel. */
  get rgba(): Uint8Array {
    return this.#rgba;
  }

  /** The figure as a PNG. */
  toBuffer(): Promise<Buffer> {
    this.#png ??= sharp()(this.#rgba, { raw: { width: this.width, height: this.height, channels: 4 } })
      .removeAlpha()
      .png({ compressionLevel: 6, adaptiveFiltering: false })
      .toBuffer();
    return this.#png;
  }

  /**
   * Writes the figure as a PNG file (replacing one that is there), whole or
   * not at all.
   * @throws {PlotError} `EPLOTOPTION` when path is not a string or does not end in .png
   * @throws {TargetFolderError} the folder to write into does not exist or is not a folder, or path is a folder
   * @throws {PermissionError} the folder or file may not be written
   * @throws {DiskFullError} no space left on the device
   */
  async toFile(path: string): Promise<void> {
    if (typeof path !== "string" || !/\.png$/i.test(path)) {
      throw new PlotError("EPLOTOPTION", "path", `expected a file name ending in .png, got ${describe(path)}: figures are saved as PNG`);
    }
    TargetFolderError.check(path);
    const png = await this.toBuffer();
    // Whole or not at all: written beside the target and renamed over it.
    writeAtomically(resolve(path), (tmp) => writeFileSync(tmp, png), { fsync: false });
  }

  /** {@link toFile} under offspect's (matplotlib's) name. */
  savefig(path: string): Promise<void> {
    return this.toFile(path);
  }
}

/**
 * Rasterises an SVG (vector parts: outlines, text as paths, frames) to RGBA
 * of the given size.
 * @internal
 */
export async function rasterSvg(svg: string, width: number, height: number): Promise<Uint8Array> {
  const { data, info } = await sharp()(Buffer.from(svg), { density: 72 })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 4) {
    throw new Error(`SVG rendered at ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x4`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
