"""Independent reference of the MEP measures, with numpy, written from the
definitions in the issue and README ("Analysis: annotate and stats"), not
from the TypeScript code; and offspect's GUI estimate
(offspect/gui/VWidgets/control.py, click_estimate_parameters), restated.

Usage: reference_measures.py FILE.hdf5 OPTIONS_JSON
Prints a JSON list, one object per trace in the file's order (origins by
name, traces by numeric name), with the measures and offspect's estimate.
Traces must not carry _log steps (the reference measures the stored data).
Run with Debian's /usr/bin/python3 (h5py, numpy, PyYAML).
"""
import json
import math
import sys

import h5py
import numpy as np
import yaml


def decode(text):
    """offspect's decode: yaml.load of the text (None stays the text 'None')."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def sample_range(p0, fs, ms, n):
    lo = p0 + int(ms[0] * fs / 1000)
    hi = p0 + int(ms[1] * fs / 1000)
    return max(0, min(lo, n)), max(0, min(hi, n))


def measures(x, fs, p0, opts):
    """x: the channel's samples (1-D float array)."""
    n = len(x)
    t = lambda i: (i - p0) * 1000 / fs
    a, b = sample_range(p0, fs, opts["window"], n)
    w = x[a:b]
    neg = a + int(np.argmin(w))
    pos = a + int(np.argmax(w))
    c0, c1 = sample_range(p0, fs, opts["baseline"], n)
    base = x[c0:c1]
    out = {
        "neg_peak_magnitude_uv": float(x[neg]),
        "neg_peak_latency_ms": t(neg),
        "pos_peak_magnitude_uv": float(x[pos]),
        "pos_peak_latency_ms": t(pos),
        "ptp_uv": float(x[pos] - x[neg]),
    }
    out["mep_present"] = out["ptp_uv"] >= opts["mep_threshold"]
    if len(base) == 0:
        out.update(zcr_latency_ms=None, onset_latency_ms=None, prestim_rms_uv=None, background_active=None)
        return out
    mu = float(np.mean(base))
    sd = float(np.std(base))  # population
    rms = float(np.sqrt(np.mean((base - mu) ** 2)))
    out["prestim_rms_uv"] = rms
    out["background_active"] = rms > opts["background_threshold"]
    # zero crossing of the baseline mean, from the earlier peak to the later
    zcr = None
    lo, hi = min(neg, pos), max(neg, pos)
    if lo != hi:
        d = x - mu
        for i in range(lo, hi):
            if d[i] == 0:
                zcr = t(i)
                break
            if np.sign(d[i]) * np.sign(d[i + 1]) < 0:
                zcr = t(i) + d[i] / (d[i] - d[i + 1]) * 1000 / fs
                break
        if zcr is None and d[hi] == 0:
            zcr = t(hi)
    out["zcr_latency_ms"] = None if zcr is None else float(zcr)
    # onset
    onset = None
    if opts["method"] == "threshold":
        above = np.nonzero(np.abs(w - mu) > opts["k"] * sd)[0]
        if len(above) > 0:
            onset = t(a + int(above[0]))
    else:
        r = np.abs(x - mu)
        m = np.mean(r[c0:c1])
        h = float(np.max(np.abs(np.cumsum(r[c0:c1] - m))))
        C = np.concatenate([[0.0], np.cumsum(r[a:b] - m)])  # C[j] = C(a - 1 + j)
        crossing = np.nonzero(C[1:] > opts["k"] * h)[0]
        if len(crossing) > 0:
            nstar = int(crossing[0]) + 1  # position in C
            in_band = np.nonzero(C[:nstar] <= h)[0]  # C[0] = 0 is always in the band
            onset = t(a - 1 + int(in_band[-1]) + 1)
    out["onset_latency_ms"] = None if onset is None else float(onset)
    return out


def offspect_estimate(data, attrs):
    """offspect's click_estimate_parameters: window 15-120 ms from pre - shift."""
    window = (15, 120)
    pre = decode(attrs["samples_pre_event"])
    shift = decode(attrs["onset_shift"]) or 0
    fs = decode(attrs["samplingrate"])
    onset = pre - shift
    minlat = int(window[0] * fs / 1000)
    maxlat = int(window[1] * fs / 1000)
    a = onset + minlat
    b = onset + maxlat
    mep = data[a:b]
    nlat = mep.argmin()
    plat = mep.argmax()
    return {
        "neg_peak_magnitude_uv": float(mep[nlat]),
        "pos_peak_magnitude_uv": float(mep[plat]),
        "neg_peak_latency_ms": float(nlat * 1000 / fs + window[0]),
        "pos_peak_latency_ms": float(plat * 1000 / fs + window[0]),
    }


def main():
    fname = sys.argv[1]
    opts = {"window": [15, 120], "baseline": [-100, -5], "method": "threshold", "k": 3, "mep_threshold": 50, "background_threshold": 20}
    opts.update(json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
    out = []
    with h5py.File(fname, "r") as f:
        for origin in f.keys():
            names = sorted(f[origin]["traces"].keys(), key=int)
            for name in names:
                dset = f[origin]["traces"][name]
                attrs = {k: dset.attrs[k] for k in dset.attrs}
                data = np.asarray(dset, dtype=float)
                if data.ndim == 1:
                    data = data[:, None]
                labels = decode(attrs["channel_labels"])
                ch = 0 if data.shape[1] == 1 else labels.index(attrs["channel_of_interest"])
                x = data[:, ch]
                fs = decode(attrs["samplingrate"])
                shift = decode(attrs.get("onset_shift", "0"))
                shift = shift if isinstance(shift, int) else 0
                p0 = decode(attrs["samples_pre_event"]) + shift
                entry = measures(x, fs, p0, opts)
                # offspect's estimate works on the flattened window (its data is one channel)
                entry["offspect_estimate"] = offspect_estimate(x, attrs) if data.shape[1] == 1 else None
                out.append(entry)
    print(json.dumps(out))


main()
