"""Independent reference for the map projection, with numpy and scipy.

Reads {"coords": [[x, y, z], ...], "values": [...], "smooth": fwhm, "views": [...]}
as JSON on stdin and prints {"max": ..., "views": {view: [[row...], ...]}}: each
view as rows of ascending vertical MNI coordinate, columns of ascending
horizontal coordinate, as projectMap lays them out. Run with Debian's
/usr/bin/python3 (python3-numpy, python3-scipy).
"""
import json
import math
import sys

import numpy as np
from scipy.ndimage import gaussian_filter

AFFINE = np.array([[-1.0, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]])
SHAPE = (181, 217, 181)


def main():
    req = json.load(sys.stdin)
    inv = np.linalg.inv(AFFINE)
    vol = np.zeros(SHAPE)
    cnt = np.zeros(SHAPE)
    dropped = 0
    for pos, val in zip(req["coords"], req["values"]):
        if not isinstance(pos, list) or len(pos) != 3 or not all(isinstance(c, (int, float)) and math.isfinite(c) for c in pos):
            dropped += 1
            continue
        ijk = np.rint(inv.dot(list(pos) + [1.0]))[:3].astype(int)
        if any(c < 0 or c >= n for c, n in zip(ijk, SHAPE)):
            dropped += 1
            continue
        vol[tuple(ijk)] += val
        cnt[tuple(ijk)] += 1
    means = vol[cnt > 0] / cnt[cnt > 0]
    fwhm = req["smooth"]
    if fwhm > 0:
        sigma = fwhm / math.sqrt(8 * math.log(2))
        sm = gaussian_filter(vol, sigma, mode="reflect", truncate=4.0)
    else:
        sm = vol.copy()
    if sm.max() > 0:
        sm = sm / sm.max() * means.max()
    elif sm.min() < 0:
        sm = sm / sm.min() * means.min()
    a = np.abs(sm)
    out = {}
    for view in req["views"]:
        if view == "z":
            p = a.max(axis=2)[::-1, :].T  # rows y ascending, columns x ascending
        elif view == "y":
            p = a.max(axis=1)[::-1, :].T  # rows z, columns x ascending
        elif view == "x":
            p = a.max(axis=0).T  # rows z, columns y
        elif view == "l":
            p = a[91:, :, :].max(axis=0).T  # x = 90 - i < 0
        elif view == "r":
            p = a[:91, :, :].max(axis=0).T
        out[view] = p.tolist()
    json.dump({"max": float(a.max()), "dropped": dropped, "views": out}, sys.stdout)


main()
