"""Independent reference of the motor-map statistics, with numpy and scipy,
written from the definitions (README "Analysis: annotate and stats"), not
from the TypeScript code.

Usage: reference_stats.py OPTIONS_JSON FILE.hdf5...
OPTIONS: threshold, site_mm, grid_mm (or null), smooth, bootstrap, seed,
level, area_bootstrap. Prints one JSON object: all, left, right, each with
traces_used, sites, excitable_sites, cog_mni, cog_unweighted_mni,
hotspot_mni, hotspot_uv, volume_uv, spread_mm, area_mm2 and ci.
Run with Debian's /usr/bin/python3 (h5py, numpy, scipy, PyYAML).
"""
import json
import math
import sys

import h5py
import numpy as np
import yaml
from scipy.ndimage import gaussian_filter

AFFINE = np.array([[-1.0, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]])
SHAPE = (181, 217, 181)


def decode(text):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def number(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def load(files):
    """The traces a map uses: not rejected, value ptp (0 when a peak is null), coordinates on the grid."""
    coords, values = [], []
    for fname in files:
        with h5py.File(fname, "r") as f:
            for origin in f.keys():
                for name in sorted(f[origin]["traces"].keys(), key=int):
                    a = f[origin]["traces"][name].attrs
                    rej = decode(a["reject"])
                    if rej not in (None, "None", "", False, 0):
                        continue
                    pos, neg = number(decode(a["pos_peak_magnitude_uv"])), number(decode(a["neg_peak_magnitude_uv"]))
                    val = pos - neg if pos is not None and neg is not None else 0.0
                    xyz = decode(a["xyz_coords"])
                    if not (isinstance(xyz, list) and len(xyz) == 3 and all(number(c) is not None for c in xyz)):
                        continue
                    ijk = np.rint(np.linalg.inv(AFFINE).dot(list(xyz) + [1.0]))[:3].astype(int)
                    if any(c < 0 or c >= n for c, n in zip(ijk, SHAPE)):
                        continue
                    coords.append([float(c) for c in xyz])
                    values.append(float(val))
    return np.array(coords), np.array(values)


def mulberry32(seed):
    state = seed % 2**32

    def nxt():
        nonlocal state
        state = (state + 0x6D2B79F5) % 2**32
        t = ((state ^ (state >> 15)) * (state | 1)) % 2**32
        t = (t ^ ((t + ((t ^ (t >> 7)) * (t | 61)) % 2**32) % 2**32)) % 2**32
        return ((t ^ (t >> 14)) % 2**32) / 2**32

    return nxt


def projection(coords, values, smooth):
    """The plot's axial projection: grid sums, gaussian_filter, rescale to the largest voxel mean, max |.| along z."""
    vol = np.zeros(SHAPE)
    cnt = np.zeros(SHAPE)
    inv = np.linalg.inv(AFFINE)
    for pos, val in zip(coords, values):
        ijk = tuple(np.rint(inv.dot(list(pos) + [1.0]))[:3].astype(int))
        vol[ijk] += val
        cnt[ijk] += 1
    means = vol[cnt > 0] / cnt[cnt > 0]
    sm = gaussian_filter(vol, smooth / math.sqrt(8 * math.log(2)), mode="reflect", truncate=4.0) if smooth > 0 else vol
    if sm.max() > 0:
        sm = sm / sm.max() * means.max()
    z = np.abs(sm).max(axis=2)  # [i, j]; x = 90 - i
    x_of_i = 90 - np.arange(SHAPE[0])
    return z, x_of_i


def areas(coords, values, opts):
    if len(coords) == 0:
        return {"all": 0, "left": 0, "right": 0}
    z, x_of_i = projection(coords, values, opts["smooth"])
    above = z >= opts["threshold"]
    left = int(above[x_of_i < 0, :].sum())
    right = int(above[x_of_i >= 0, :].sum())
    return {"all": left + right, "left": left, "right": right}


def sites_of(coords, site_mm):
    keys, site = {}, []
    for c in coords:
        r = tuple(float(v) for v in np.round(np.asarray(c) / site_mm) * site_mm) + (bool(c[0] < 0),)
        if r not in keys:
            keys[r] = len(keys)
        site.append(keys[r])
    mni = [list(k[:3]) for k in sorted(keys, key=keys.get)]
    left = [k[3] for k in sorted(keys, key=keys.get)]
    return np.array(site), mni, left


def scope(coords, values, site, mni, drawn, opts):
    """Numbers of the multiset `drawn` of site ids."""
    thr = opts["threshold"]
    idx = np.concatenate([np.nonzero(site == k)[0] for k in drawn]) if len(drawn) else np.array([], dtype=int)
    out = {"traces_used": int(len(idx)), "sites": int(len(set(drawn)))}
    a, x = values[idx], coords[idx]
    means = {k: float(values[site == k].mean()) for k in set(drawn)}
    exc = [k for k in drawn if means[k] >= thr]
    out["excitable_sites"] = len(exc)
    out["volume_uv"] = float(sum(means[k] for k in exc))
    out["cog_mni"] = (a @ x / a.sum()).tolist() if len(idx) and a.sum() != 0 else None
    out["cog_unweighted_mni"] = x.mean(axis=0).tolist() if len(idx) else None
    best = None
    for k in sorted(set(drawn)):  # site ids are in the order of their first trace
        if best is None or means[k] > means[best]:
            best = k
    out["hotspot_mni"] = mni[best] if best is not None else None
    out["hotspot_uv"] = means[best] if best is not None else None
    if out["cog_mni"] is not None and exc:
        d2 = [np.sum((np.array(mni[k]) - np.array(out["cog_mni"])) ** 2) for k in sorted(set(exc))]
        out["spread_mm"] = float(np.sqrt(np.mean(d2)))
    else:
        out["spread_mm"] = None
    if opts["grid_mm"] is not None:
        out["area_mm2"] = len(exc) * opts["grid_mm"] ** 2
    return out


def main():
    opts = {"threshold": 50, "site_mm": 1, "grid_mm": None, "smooth": 12.5, "bootstrap": 0, "seed": 0, "level": 0.95, "area_bootstrap": True}
    opts.update(json.loads(sys.argv[1]))
    coords, values = load(sys.argv[2:])
    site, mni, left = sites_of(coords, opts["site_mm"])
    n_sites = len(mni)
    members = {"all": list(range(n_sites)), "left": [k for k in range(n_sites) if left[k]], "right": [k for k in range(n_sites) if not left[k]]}
    res = {s: scope(coords, values, site, mni, members[s], opts) for s in members}
    if opts["grid_mm"] is None:
        ar = areas(coords, values, opts)
        for s in res:
            res[s]["area_mm2"] = ar[s]
    B = opts["bootstrap"]
    if B > 0:
        rnd = mulberry32(opts["seed"])
        reps = {s: {"x": [], "y": [], "z": [], "area": [], "volume": []} for s in res}
        for _ in range(B):
            drawn = [members["all"][math.floor(rnd() * n_sites)] for _ in range(n_sites)]
            if opts["grid_mm"] is None and opts["area_bootstrap"]:
                idx = np.concatenate([np.nonzero(site == k)[0] for k in drawn])
                ar = areas(coords[idx], values[idx], opts)
            for s in res:
                d = [k for k in drawn if (s == "all") or (left[k] if s == "left" else not left[k])]
                r = scope(coords, values, site, mni, d, opts)
                cog = r["cog_mni"] or [math.nan] * 3
                reps[s]["x"].append(cog[0])
                reps[s]["y"].append(cog[1])
                reps[s]["z"].append(cog[2])
                has = r["traces_used"] > 0
                if opts["grid_mm"] is not None:
                    reps[s]["area"].append(r["area_mm2"] if has else math.nan)
                elif opts["area_bootstrap"]:
                    reps[s]["area"].append(ar[s] if has else math.nan)
                else:
                    reps[s]["area"].append(math.nan)
                reps[s]["volume"].append(r["volume_uv"] if has else math.nan)
        lo, hi = (1 - opts["level"]) / 2, (1 + opts["level"]) / 2

        def ci(v):
            v = np.array(v)
            v = v[np.isfinite(v)]
            return [float(np.quantile(v, lo)), float(np.quantile(v, hi))] if len(v) else None

        for s in res:
            if res[s]["traces_used"] == 0:
                res[s]["ci"] = None
                continue
            c = [ci(reps[s][k]) for k in "xyz"]
            res[s]["ci"] = {"cog_mni": c if all(c) else None, "area_mm2": ci(reps[s]["area"]), "volume_uv": ci(reps[s]["volume"])}
    print(json.dumps(res))


main()
