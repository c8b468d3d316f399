#!/usr/bin/python3
"""Benchmark data: CacheFiles laid out exactly as offspect's ``populate`` writes them.

Run with Debian's python (it has h5py and numpy; a pyenv ``python3`` on PATH
may not)::

    /usr/bin/python3 scripts/bench/make_data.py scripts/bench/out
    /usr/bin/python3 scripts/bench/make_data.py OUTDIR --sources 100 200 400 [--force]

Writes into OUTDIR:

- ``iterate.hdf5``: ``--origins`` (200) origins x ``--traces`` (50) traces in
  one file (10,000 traces);
- ``sources-N/source_001.hdf5`` ... for every N of ``--sources`` (default
  100 200 400): N single-origin files of ``--traces`` traces each.

Layout, as offspect's ``populate`` (h5py, default libver, no creation order
tracking): one group per origin named ``run_001.xdf`` ..., holding the origin
attributes and a group ``traces`` with one float64 dataset per trace, named by
its id ``"0"`` ... ``"49"``, shape (samples, 1), contiguous. Every attribute is
a Python ``str``, which h5py stores as a scalar variable-length UTF-8 string.
Each trace has the 29 attributes of offspect's own ``template_R001.hdf5``
fixture (readin ``tms``, readout ``cmep``): the generic trace keys, the cmep
keys and a copy of every origin attribute.

Origin ``k`` (1-based) is always generated from the same seed, so
``sources-N/source_00k.hdf5`` holds the same origin ``run_00k.xdf`` in every
``sources-N`` and in ``iterate.hdf5``: merging ``sources-200`` gives the
content of ``iterate.hdf5``. Origin names are unique within each set and the
must-be-identical origin keys (``channel_labels``, ``channel_of_interest``,
``samples_post_event``, ``samples_pre_event``, ``samplingrate``, ``subject``,
``readout``, ``readin``, ``version``) are identical, so any set can be merged;
``global_comment`` and ``filedate`` vary by origin.

Deterministic and idempotent: each file is written to a temporary name and
renamed when complete; its size and the generation parameters are recorded in
``OUTDIR/manifest.json``, and a file that exists with the recorded size (and
the same parameters) is skipped unless ``--force`` is given.
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np

GENERATOR_VERSION = 1  # bump when the content changes, so old files are rewritten

CHANNEL = "EDC_L"
# The must-be-identical origin keys, as in offspect's fixture, scaled to 2 s traces.
ORIGIN_FIXED = {
    "channel_labels": str([CHANNEL]),
    "channel_of_interest": CHANNEL,
    "history": "",
    "readin": "tms",
    "readout": "cmep",
    "samples_post_event": None,  # filled from --samples
    "samples_pre_event": None,
    "samplingrate": "1000",
    "subject": "VnNn",
    "version": "0.0.1",
}
COMMENTS = ["patient was tired", "", "coil moved after pulse 20", "good session", "electrode re-attached"]
TRACE_COMMENTS = ["", "", "", "", "subject fell asleep", "muscle pre-activation", "coil slipped"]
EXAMINERS = ["algorithm_findpeaks", "HiWi", "RG", "algorithm_findpeaks"]


def fmt1(x):
    """Python's str() of a value rounded to one decimal, as offspect stores it."""
    return str(round(float(x), 1))


def origin_name(k):
    return f"run_{k:03d}.xdf"


def origin_attrs(k, samples):
    rng = np.random.default_rng([SEED, k, 0])
    attrs = dict(ORIGIN_FIXED)
    attrs["samples_pre_event"] = str(samples // 2)
    attrs["samples_post_event"] = str(samples - samples // 2)
    attrs["global_comment"] = COMMENTS[int(rng.integers(len(COMMENTS)))]
    day = 1 + (k - 1) % 28
    month = 1 + ((k - 1) // 28) % 12
    secs = int(rng.integers(8 * 3600, 18 * 3600))
    attrs["filedate"] = f"2021-{month:02d}-{day:02d} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    return dict(sorted(attrs.items()))


def make_origin(k, ntraces, samples):
    """Origin attributes, and per trace (data, trace attributes without the origin copy)."""
    oattrs = origin_attrs(k, samples)
    fs = int(oattrs["samplingrate"])
    pre = samples // 2
    rng = np.random.default_rng([SEED, k, 1])
    t = np.arange(samples) / fs
    centre = np.array([37.0, 22.5, 54.0]) + rng.normal(0, 1.5, 3)
    mso = int(rng.integers(40, 80))
    event_sample = int(rng.integers(5000, 15000))
    traces = []
    for i in range(ntraces):
        gap = float(rng.uniform(4.0, 7.0))
        if i > 0:
            event_sample += int(gap * fs)
        xyz = centre + rng.normal(0, 2.0, 3)
        amp = float(rng.lognormal(3.5, 0.5))  # MEP peak-to-peak scale, uV
        lat_neg = float(rng.normal(21.0, 1.5))
        lat_pos = lat_neg + float(rng.normal(14.0, 2.0))
        # the signal: noise, 50 Hz line noise, a slow drift, a stimulation artefact and the MEP
        data = rng.normal(0.0, 4.0, samples)
        data += float(rng.uniform(1, 8)) * np.sin(2 * np.pi * 50 * t + float(rng.uniform(0, 2 * np.pi)))
        data += float(rng.normal(0, 20)) + float(rng.normal(0, 10)) * t
        data[pre : pre + 3] += float(rng.normal(0, 300))
        ms = (np.arange(samples) - pre) / fs * 1000.0
        data += -amp * np.exp(-0.5 * ((ms - lat_neg) / 3.0) ** 2) + 1.2 * amp * np.exp(-0.5 * ((ms - lat_pos) / 4.0) ** 2)
        inspected = rng.random() > 0.1
        neg_mag = -amp + float(rng.normal(0, 1))
        pos_mag = 1.2 * amp + float(rng.normal(0, 1))
        tattrs = {
            "id": str(i),
            "event_name": "[S  1]",
            "event_sample": str(event_sample),
            "event_time": str(round(event_sample / fs, 3)),
            "onset_shift": str(int(rng.integers(-3, 4))),
            "time_since_last_pulse_in_s": "None" if i == 0 else fmt1(gap),
            "reject": str(bool(rng.random() < 0.05)),
            "comment": TRACE_COMMENTS[int(rng.integers(len(TRACE_COMMENTS)))],
            "examiner": EXAMINERS[int(rng.integers(len(EXAMINERS)))],
            # cmep
            "stimulation_intensity_mso": str(mso),
            "stimulation_intensity_didt": str(int(round(mso * 0.67))),
            "neg_peak_magnitude_uv": fmt1(neg_mag) if inspected else "None",
            "neg_peak_latency_ms": fmt1(lat_neg) if inspected else "None",
            "pos_peak_magnitude_uv": fmt1(pos_mag) if inspected else "None",
            "pos_peak_latency_ms": fmt1(lat_pos) if inspected else "None",
            "zcr_latency_ms": fmt1((lat_neg + lat_pos) / 2) if inspected else "None",
            "xyz_coords": str([round(float(c), 1) for c in xyz]),
            "channel_of_interest": CHANNEL,
        }
        traces.append((data.reshape(samples, 1), tattrs))
    return oattrs, traces


def write_origin(f, k, ntraces, samples):
    """Writes one origin as offspect's populate does: group, its attributes, `traces`, datasets with attributes."""
    oattrs, traces = make_origin(k, ntraces, samples)
    grp = f.create_group(origin_name(k))
    for key, value in oattrs.items():
        grp.attrs[key] = value
    tgrp = grp.create_group("traces")
    for data, tattrs in traces:
        dset = tgrp.create_dataset(tattrs["id"], data=data)
        for key, value in {**tattrs, **oattrs}.items():
            dset.attrs[key] = value
    return len(traces)


def write_file(path, origins, ntraces, samples):
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        os.remove(tmp)
    with h5py.File(tmp, "w") as f:
        for k in origins:
            write_origin(f, k, ntraces, samples)
    os.replace(tmp, path)
    return os.path.getsize(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", help="directory to write into (created if missing)")
    parser.add_argument("--sources", type=int, nargs="*", default=[100, 200, 400],
                        help="numbers of single-origin source files, one sources-N directory each (default 100 200 400)")
    parser.add_argument("--origins", type=int, default=200, help="origins in iterate.hdf5 (default 200)")
    parser.add_argument("--traces", type=int, default=50, help="traces per origin (default 50)")
    parser.add_argument("--samples", type=int, default=2000, help="samples per trace (default 2000)")
    parser.add_argument("--seed", type=int, default=20240611, help="random seed (default 20240611)")
    parser.add_argument("--no-iterate", action="store_true", help="do not write iterate.hdf5")
    parser.add_argument("--force", action="store_true", help="rewrite files even if they exist with the right size")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if min([args.origins, args.traces, args.samples, *args.sources] or [1]) < 1:
        parser.error("--origins, --traces, --samples and --sources must be positive")

    global SEED
    SEED = args.seed
    os.makedirs(args.outdir, exist_ok=True)
    manifest_path = os.path.join(args.outdir, "manifest.json")
    params = {"generator": GENERATOR_VERSION, "seed": args.seed, "traces": args.traces, "samples": args.samples,
              "h5py": h5py.version.version, "hdf5": h5py.version.hdf5_version}
    try:
        with open(manifest_path) as fh:
            manifest = json.load(fh)
    except (OSError, ValueError):
        manifest = {}
    if manifest.get("params") != params:
        manifest = {"params": params, "files": {}}
    files = manifest["files"]

    def say(*a):
        if not args.quiet:
            print(*a, file=sys.stderr, flush=True)

    def ensure(rel, origins):
        path = os.path.join(args.outdir, rel)
        want = files.get(rel)
        if (not args.force and want is not None and want["origins"] == [origins[0], origins[-1], len(origins)]
                and os.path.isfile(path) and os.path.getsize(path) == want["size"]):
            return False
        size = write_file(path, origins, args.traces, args.samples)
        files[rel] = {"size": size, "origins": [origins[0], origins[-1], len(origins)]}
        tmp = manifest_path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(manifest, fh, indent=1, sort_keys=True)
        os.replace(tmp, manifest_path)
        return True

    if not args.no_iterate:
        if ensure("iterate.hdf5", list(range(1, args.origins + 1))):
            say(f"wrote iterate.hdf5 ({args.origins} origins x {args.traces} traces)")
        else:
            say("iterate.hdf5 is up to date")
    for n in args.sources:
        d = f"sources-{n}"
        os.makedirs(os.path.join(args.outdir, d), exist_ok=True)
        width = max(3, len(str(n)))
        written = sum(ensure(f"{d}/source_{k:0{width}d}.hdf5", [k]) for k in range(1, n + 1))
        say(f"{d}: wrote {written} of {n} files" if written else f"{d} is up to date")
    return 0


SEED = 0

if __name__ == "__main__":
    sys.exit(main())
