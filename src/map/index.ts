/**
 * `offspect-cachefile/map`: motor maps as offspect's `plot_map` draws them
 * (a glass brain through sharp), single traces as offspect's trace view,
 * and the map's values and counts.
 * @module
 */
export { PlotError, type PlotErrorCode } from "./errors.js";
export { Figure } from "./figure.js";
export { DISPLAY_MODES, MapFigure, plotGlass, viewsOf, type DisplayMode, type GlassOptions, type Panel } from "./glass.js";
export type { PlacedMark } from "./marks.js";
export { mapValues, type MapCounts, type MapFiles, type MapValueOptions, type MapValues } from "./values.js";
export { mapSummary, plotMap, type MapOptions, type MapPlot, type MapTransform } from "./plotmap.js";
export { DEFAULT_SMOOTH, GRID_SHAPE, MNI_AFFINE, VIEWS, mniToVoxel, projectMap, type Coords, type ProjectOptions, type Projection, type View } from "./project.js";
export { OFFSPECT_YLIM, plotTrace, type TraceOptions } from "./trace.js";
