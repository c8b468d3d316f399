#!/usr/bin/python3
"""Brain outlines for the glass-brain maps, from a real MNI-space template.

Reads the brain-extracted Colin27 template `ch2bet.nii.gz` of Debian's
mricron-data package (BSD-3-clause, see assets/colin27/NOTICE) and writes
src/map/outline-data.ts: for each view (x, y, z, l, r) SVG path data, in MNI
millimetres, of the brain's silhouette (the outline of the projected brain
mask) and of a few inner lines (contours of the projected brain thickness),
which the renderer draws under the map. Runs at development time only: the
library and its tests never need the template.

Usage (Debian: apt-get install mricron-data python3-nibabel python3-scipy):
    /usr/bin/python3 scripts/make-outline.py [path/to/ch2bet.nii.gz]
"""
import math
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy.ndimage import binary_fill_holes, gaussian_filter

TEMPLATE = "/usr/share/mricron/templates/ch2bet.nii.gz"
OUT = Path(__file__).resolve().parent.parent / "src" / "map" / "outline-data.ts"
TOLERANCE_MM = 0.3
MIN_AREA_MM2 = 40
# Inner lines: contours of the projected thickness at these fractions of its maximum.
INNER_LEVELS = (0.55,)


def marching_squares(field, level):
    """Line segments where a 2-D field crosses level, in (row, col) index units."""
    f = field - level
    rows, cols = f.shape
    segs = []
    a = f[:-1, :-1]
    b = f[:-1, 1:]
    c = f[1:, 1:]
    d = f[1:, :-1]
    code = (a > 0) * 1 + (b > 0) * 2 + (c > 0) * 4 + (d > 0) * 8
    idx = np.argwhere((code != 0) & (code != 15))

    def interp(p, q, fp, fq):
        t = fp / (fp - fq)
        return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))

    for r, s in idx:
        va, vb, vc, vd = f[r, s], f[r, s + 1], f[r + 1, s + 1], f[r + 1, s]
        pa, pb, pc, pd = (r, s), (r, s + 1), (r + 1, s + 1), (r + 1, s)
        e_top = lambda: interp(pa, pb, va, vb)
        e_right = lambda: interp(pb, pc, vb, vc)
        e_bottom = lambda: interp(pd, pc, vd, vc)
        e_left = lambda: interp(pa, pd, va, vd)
        k = code[r, s]
        centre = (va + vb + vc + vd) / 4
        table = {
            1: [(e_left, e_top)], 2: [(e_top, e_right)], 3: [(e_left, e_right)],
            4: [(e_right, e_bottom)], 6: [(e_top, e_bottom)], 7: [(e_left, e_bottom)],
            8: [(e_bottom, e_left)], 9: [(e_bottom, e_top)], 11: [(e_bottom, e_right)],
            12: [(e_right, e_left)], 13: [(e_right, e_top)], 14: [(e_top, e_left)],
        }
        if k == 5:
            pairs = [(e_left, e_top), (e_right, e_bottom)] if centre <= 0 else [(e_left, e_bottom), (e_right, e_top)]
        elif k == 10:
            pairs = [(e_top, e_right), (e_bottom, e_left)] if centre <= 0 else [(e_top, e_left), (e_bottom, e_right)]
        else:
            pairs = table[k]
        for p, q in pairs:
            segs.append((p(), q()))
    return segs


def join(segs):
    """Joins segments into polylines by their shared end points."""
    key = lambda p: (round(p[0], 6), round(p[1], 6))
    ends = {}
    for n, (p, q) in enumerate(segs):
        ends.setdefault(key(p), []).append((n, 0))
        ends.setdefault(key(q), []).append((n, 1))
    used = [False] * len(segs)
    lines = []
    for n in range(len(segs)):
        if used[n]:
            continue
        used[n] = True
        line = [segs[n][0], segs[n][1]]
        for forward in (True, False):
            while True:
                tip = line[-1] if forward else line[0]
                nxt = None
                for m, side in ends.get(key(tip), []):
                    if not used[m]:
                        nxt = (m, side)
                        break
                if nxt is None:
                    break
                m, side = nxt
                used[m] = True
                other = segs[m][1 - side]
                if forward:
                    line.append(other)
                else:
                    line.insert(0, other)
        lines.append(line)
    return lines


def simplify(points, tol):
    """Douglas-Peucker."""
    if len(points) < 3:
        return points
    pts = np.asarray(points)
    keep = np.zeros(len(pts), bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        p, q = pts[i], pts[j]
        seg = q - p
        norm = math.hypot(*seg)
        rel = pts[i + 1 : j] - p
        if norm == 0:
            dist = np.hypot(rel[:, 0], rel[:, 1])
        else:
            dist = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / norm
        m = int(np.argmax(dist))
        if dist[m] > tol:
            keep[i + 1 + m] = True
            stack.append((i, i + 1 + m))
            stack.append((i + 1 + m, j))
    return [tuple(p) for p in pts[keep]]


def path_data(field, level, h_mm, v_mm, min_len=8):
    """SVG path data (h, v in MNI mm) of the contours of field (rows v, columns h)."""
    out = []
    for line in join(marching_squares(field, level)):
        mm = [(h_mm[0] + c * (h_mm[1] - h_mm[0]), v_mm[0] + r * (v_mm[1] - v_mm[0])) for r, c in line]
        if len(mm) < min_len:
            continue
        closed = math.hypot(mm[0][0] - mm[-1][0], mm[0][1] - mm[-1][1]) < 1e-6
        if closed and abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(mm, mm[1:]))) / 2 < MIN_AREA_MM2:
            continue  # specks
        mm = simplify(mm, TOLERANCE_MM)
        d = "M" + " L".join(f"{h:.1f} {v:.1f}" for h, v in (mm[:-1] if closed else mm))
        out.append(d + ("Z" if closed else ""))
    return "".join(out)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else TEMPLATE
    img = nib.load(src)
    data = np.asarray(img.dataobj, dtype=float)
    aff = img.affine
    if not np.allclose(aff[:3, :3], np.diag(np.diag(aff[:3, :3]))) or not np.allclose(np.abs(np.diag(aff)[:3]), 1):
        sys.exit(f"expected a 1 mm axis-aligned template, got the affine\n{aff}")
    # Reorder to ascending MNI axes (x, y, z), 1 mm voxels.
    for ax in range(3):
        if aff[ax, ax] < 0:
            data = np.flip(data, axis=ax)
    origin = [aff[ax, 3] if aff[ax, ax] > 0 else aff[ax, 3] - (data.shape[ax] - 1) for ax in range(3)]
    mask = gaussian_filter((data > 0).astype(float), 1.0) > 0.5
    mask = binary_fill_holes(mask)
    xs = origin[0] + np.arange(mask.shape[0])
    views = {}
    for view in ("x", "y", "z", "l", "r"):
        m = mask
        if view == "l":
            m = mask * (xs < 0)[:, None, None]
        elif view == "r":
            m = mask * (xs >= 0)[:, None, None]
        axis = {"x": 0, "l": 0, "r": 0, "y": 1, "z": 2}[view]
        sil = m.any(axis=axis).astype(float)
        thick = m.sum(axis=axis).astype(float)
        # 2-D arrays indexed [h][v]: z view (x, y), y view (x, z), sagittal (y, z).
        h_ax, v_ax = {"x": (1, 2), "l": (1, 2), "r": (1, 2), "y": (0, 2), "z": (0, 1)}[view]
        h_mm = (origin[h_ax], origin[h_ax] + 1)
        v_mm = (origin[v_ax], origin[v_ax] + 1)
        # Pad by one voxel so that contours close at the edges; rows = v, columns = h.
        sil = np.pad(gaussian_filter(sil, 0.7).T, 1)
        thick = np.pad(gaussian_filter(thick / thick.max(), 1.5).T, 1)
        h_pad = (h_mm[0] - 1, h_mm[1] - 1)
        v_pad = (v_mm[0] - 1, v_mm[1] - 1)
        views[view] = {
            "silhouette": path_data(sil, 0.5, h_pad, v_pad),
            "inner": "".join(path_data(thick, lv, h_pad, v_pad, min_len=20) for lv in INNER_LEVELS),
        }
    lines = [
        "// Generated by scripts/make-outline.py from the Colin27 template ch2bet.nii.gz",
        "// (Debian package mricron-data; BSD-3-clause, see assets/colin27/NOTICE). Do not edit.",
        "/**",
        " * Brain outlines for each view as SVG path data in MNI millimetres: h is the",
        " * horizontal axis of the view (x for y and z, y for x, l and r), v the",
        " * vertical one (y for z, z otherwise). `silhouette` is the outline of the",
        " * projected brain; `inner` contours of its projected thickness.",
        " * @internal",
        " */",
        "export const OUTLINES: Readonly<Record<\"x\" | \"y\" | \"z\" | \"l\" | \"r\", { readonly silhouette: string; readonly inner: string }>> = {",
    ]
    for view, paths in views.items():
        lines.append(f"  {view}: {{")
        lines.append(f"    silhouette: \"{paths['silhouette']}\",")
        lines.append(f"    inner: \"{paths['inner']}\",")
        lines.append("  },")
    lines.append("};")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


main()
