/**
 * Text as SVG paths, from the DejaVu Sans font shipped in `assets/fonts/`
 * (parsed with opentype.js), so that figures render their text on any
 * machine: no system font, fontconfig or font cache is involved.
 * @module
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import opentype, { type Font, type Glyph } from "opentype.js";
import { CacheFileError } from "../base/errors.js";

/** Where the shipped font lies (the package's `assets/fonts/DejaVuSans.ttf`). */
export const FONT_FILE = fileURLToPath(new URL("../../assets/fonts/DejaVuSans.ttf", import.meta.url));

let font: Font | undefined;

/**
 * The shipped font, parsed once.
 * @throws {CacheFileError} `EFONT` when the font file is missing or unreadable
 * @internal
 */
function getFont(): Font {
  if (font) return font;
  let buf: Buffer;
  try {
    buf = readFileSync(FONT_FILE);
  } catch (e) {
    throw new CacheFileError("EFONT", `cannot read the figure font ${FONT_FILE} (${(e as Error).message}): reinstall the package, its assets/ folder is incomplete`, { cause: e });
  }
  font = opentype.parse(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
  return font;
}

/** A line of text laid out as an SVG path. */
export interface TextPath {
  /** SVG path data, in pixels. */
  d: string;
  /** Advance width in pixels. */
  width: number;
  /** Characters the font has no glyph for (drawn as the font's empty box). */
  missing: string[];
}

/**
 * Lays out one line of text at `(x, y)` (the baseline), `size` pixels high
 * (the em size), anchored at its start, middle or end, with the font's
 * kerning.
 *
 * @example
 * ```ts
 * const t = textPath("120µV", 10, 20, 12);
 * const svg = `<path d="${t.d}" fill="black"/>`;
 * ```
 */
export function textPath(text: string, x: number, y: number, size: number, anchor: "start" | "middle" | "end" = "start"): TextPath {
  const f = getFont();
  const scale = size / f.unitsPerEm;
  const glyphs: Glyph[] = [];
  const missing: string[] = [];
  for (const ch of text) {
    const g = f.charToGlyph(ch);
    if (g.index === 0 && !/\s/.test(ch)) missing.push(ch);
    glyphs.push(g);
  }
  const advances: number[] = [];
  let width = 0;
  for (let n = 0; n < glyphs.length; n++) {
    const g = glyphs[n]!;
    const kern = n > 0 ? f.getKerningValue(glyphs[n - 1]!, g) * scale : 0;
    width += kern;
    advances.push(width);
    width += (g.advanceWidth ?? 0) * scale;
  }
  const x0 = anchor === "start" ? x : anchor === "middle" ? x - width / 2 : x - width;
  let d = "";
  for (let n = 0; n < glyphs.length; n++) d += glyphs[n]!.getPath(x0 + advances[n]!, y, size).toPathData(2);
  return { d, width, missing };
}
