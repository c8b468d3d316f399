/**
 * The area of a motor map above a threshold, on the 2-D projection the map
 * plot draws.
 *
 * Method: the values are put on the 1 mm MNI grid, smoothed and rescaled
 * exactly as `plotMap` does (see `projectMap`: Gaussian of FWHM `smooth`,
 * default 12.5 mm, rescaled so that the maximum equals the largest
 * per-voxel mean) and projected along z (the plot's default axial view, the
 * maximum along z). The area is the number of 1 mm × 1 mm pixels of that
 * projection whose value is at least the threshold, in mm².
 *
 * This is the "area of the interpolated map above a threshold" family of
 * map-area measures (compared with grid-count areas in Julkunen P., Methods
 * for estimating cortical motor representation size and location in
 * navigated transcranial magnetic stimulation, J Neurosci Methods 232
 * (2014) 125–133; used on interpolated maps by van de Ruit M., Perenboom
 * M.J.L., Grey M.J., TMS brain mapping in less than two minutes, Brain
 * Stimulation 8 (2015) 231–239), with the plot's own smoothing as the
 * interpolation, so the number matches the picture.
 * @module
 */
import { projectMap } from "../map/project.js";

/** A projection area, for the whole map and split at the midline (x < 0 left, x >= 0 right), mm². */
export interface ProjectionAreas {
  all: number;
  left: number;
  right: number;
}

/**
 * The projection area (mm²) of values at MNI coordinates above `threshold`
 * (see the module's method), whole and per hemisphere (the projection's
 * columns x < 0 and x >= 0). 0 without points.
 * @example
 * projectionArea([[-37, -18, 54]], [1000], 50, 12.5); // { all: 749, left: 749, right: 0 }
 * @throws {PlotError} as {@link projectMap} (a bad smooth, values that are not finite)
 */
export function projectionArea(coords: ArrayLike<ArrayLike<number>>, values: ArrayLike<number>, threshold: number, smooth: number): ProjectionAreas {
  if (coords.length === 0) return { all: 0, left: 0, right: 0 };
  const p = projectMap(coords, values, { view: "z", smooth });
  let left = 0;
  let right = 0;
  const { data, width, xmm } = p;
  for (let t = 0; t < data.length; t++) {
    if (data[t]! >= threshold) {
      if (xmm[t % width]! < 0) left++;
      else right++;
    }
  }
  return { all: left + right, left, right };
}
