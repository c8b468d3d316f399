"""offspect's reading, plotting and merging of an annotated CacheFile, as
offspect's code does them (restated in test/helpers/offspect_reference.py and
here): parse_traceattrs on every trace, plot_map's gathering of values
(decode of reject, the peaks and xyz_coords, then project_into_nifti's grid
placement), and offspect's merge of the file with another.

Usage: offspect_interop.py ANNOTATED.hdf5 OTHER.hdf5 MERGED_TARGET.hdf5
OTHER "--self" merges the file with a copy of itself whose origins are renamed.
Prints JSON: {"parsed": [...], "plot_values": [...], "plot_coords": [...],
"merged_traces": N, "merged_parsed": [...]}. Raises (exit 1) where offspect would.
"""
import json
import math
import os
import sys

import h5py
import numpy as np
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
import offspect_reference as ref  # noqa: E402

KEYS = ["neg_peak_magnitude_uv", "neg_peak_latency_ms", "pos_peak_magnitude_uv", "pos_peak_latency_ms", "zcr_latency_ms", "reject"]


def decode(text):
    return yaml.load(text, Loader=yaml.Loader)


def traces(fname):
    with h5py.File(fname, "r", libver="latest", swmr=True) as f:
        for origin in f.keys():
            for idx in sorted(f[origin]["traces"], key=int):
                yield dict(f[origin]["traces"][idx].attrs)


def plot_map_values(fname):
    """offspect's plot_map: values and coords of the traces not rejected."""
    coords, values = [], []
    for tattr in traces(fname):
        if not decode(tattr["reject"]):
            npk = decode(tattr["neg_peak_magnitude_uv"])
            ppk = decode(tattr["pos_peak_magnitude_uv"])
            val = ppk - npk if ppk is not None and npk is not None else 0
            xyz = decode(tattr["xyz_coords"])
            # project_into_nifti: pinv(affine) . [x, y, z, 1], int() of each
            affine = np.asanyarray([[-1.0, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]])
            x, y, z, s = (int(p) for p in np.linalg.pinv(affine).dot(list(xyz) + [1]))
            coords.append([x, y, z])
            values.append(float(val))
    return coords, values


def clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return v


def main():
    annotated, other, target = sys.argv[1:4]
    parsed = [{k: clean(ref.parse_traceattrs(a).get(k)) for k in KEYS} for a in traces(annotated)]
    out = {"parsed": parsed}
    with h5py.File(annotated, "r") as f:
        readout = next(iter(f.values())).attrs["readout"]
    if readout in ("cmep", "imep", "pdmep"):
        out["plot_coords"], out["plot_values"] = plot_map_values(annotated)
    if other == "--self":
        other = target.replace(".hdf5", ".renamed.hdf5")
        import shutil

        shutil.copyfile(annotated, other)
        with h5py.File(other, "r+") as f:
            for origin in list(f.keys()):
                f.move(origin, "copy_of_" + origin)
    ref.merge(target, [annotated, other])
    merged = list(traces(target))
    out["merged_traces"] = len(merged)
    out["merged_parsed"] = [{k: clean(ref.parse_traceattrs(a).get(k)) for k in KEYS} for a in merged]
    print(json.dumps(out))


main()
