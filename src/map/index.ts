/**
 * Motor maps and trace plots, rendered headlessly to PNG: `plotMap`,
 * `plotGlass` (with marks: a map's CoG and hotspot), `plotTrace`, and the
 * numbers behind them (`projectMap`).
 * @module
 */
export { PlotError, type PlotErrorCode } from "./errors.js";
export { Figure } from "./figure.js";
export { DISPLAY_MODES, MapFigure, plotGlass, viewsOf, type DisplayMode, type GlassOptions, type Panel } from "./glass.js";
export type { PlacedMark } from "./marks.js";
export { mapSummary, mapValues, plotMap, type MapCounts, type MapFiles, type MapOptions, type MapPlot, type MapTransform, type MapValues } from "./plotmap.js";
export {
  DEFAULT_SMOOTH,
  GRID_SHAPE,
  MNI_AFFINE,
  VIEWS,
  gaussianKernel,
  mniToVoxel,
  projectMap,
  type Coords,
  type ProjectOptions,
  type Projection,
  type View,
} from "./project.js";
export { HOT_R, colorLevel } from "./colormap.js";
export { OFFSPECT_YLIM, plotTrace, type TraceOptions } from "./trace.js";
export { FONT_FILE, textPath, type TextPath } from "./font.js";
