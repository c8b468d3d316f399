"""offspect's own assertions (tests/cache/test_file.py of neuromti/tool-offspect),
run with h5py on the files this package wrote in test/offspect-suite.test.ts,
with offspect's semantics (test/helpers/offspect_reference.py: read_trace,
recover_annotations, recover_parts, peek, populate, merge, ...), and compared
with what the TypeScript side read from the same files.

Usage: offspect_suite.py CHECK < payload.json
Each CHECK is named after the Python test it belongs to. The payload (JSON on
stdin) names the files, the YAML template (test/offspect-suite/cache_template.yml)
and what the TypeScript side read. A failed assertion exits non-zero with the
traceback on stderr; success prints a JSON summary on stdout.
"""
import datetime
import hashlib
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "helpers"))
import offspect_reference as ref  # noqa: E402


# -----------------------------------------------------------------------------
# The fixtures' settings, as offspect's conftest makes them

def template(path):
    """offspect's get_cachefile_template: the documents of the YAML template, read fresh."""
    with open(path, "r") as f:
        return list(yaml.load_all(f.read(), Loader=yaml.Loader))


def fixture_settings(path, name):
    """The settings a conftest fixture yields, after create_test_cachefile has run:
    each trace's settings carry the origin attributes too (it updates them in place)."""
    docs = template(path)
    if name == "cachefile0":
        settings = docs[0]
    elif name == "cachefile1":
        settings = docs[2]
    elif name == "cachefile0inconsistent":
        settings = docs[1].copy()
        settings["attrs"]["channel_labels"] = ["INVALID"]
    else:
        raise SystemExit(f"unknown fixture {name}")
    for tattr in settings["traces"]:
        tattr.update(**settings["attrs"])
    return settings


def fresh_settings(path, name):
    """The settings before create_test_cachefile touched them (for a reference populate)."""
    docs = template(path)
    settings = {"cachefile0": docs[0], "cachefile1": docs[2], "cachefile0inconsistent": docs[1].copy()}[name]
    if name == "cachefile0inconsistent":
        settings["attrs"]["channel_labels"] = ["INVALID"]
    return settings


# -----------------------------------------------------------------------------
# offspect's test signal, for checking the TypeScript restatement

def fake_trace(tattr, artefacts):
    """offspect's create_fake_trace with its random artefact amplitudes given
    (`artefacts`: per channel the four lognormal draws the TypeScript side used)."""
    fs = tattr["samplingrate"]
    pre = tattr["samples_pre_event"]
    samples = pre + tattr["samples_post_event"]
    shift = pre * fs / 1000
    zcr, neg_l, pos_l = tattr["zcr_latency_ms"], tattr["neg_peak_latency_ms"], tattr["pos_peak_latency_ms"]
    xp = [v + shift for v in (zcr - neg_l, neg_l, zcr, pos_l, pos_l + zcr)]
    fp = [0, tattr["neg_peak_magnitude_uv"], 0, tattr["pos_peak_magnitude_uv"], 0]
    win = np.hanning(25 * fs / 1000)
    win = win / sum(win)
    axp = [v + shift for v in (-1, 0, 1, 5)]
    channels = []
    for draws in artefacts:
        trace = np.convolve(np.interp(np.arange(samples), xp, fp), win, "same")
        trace += np.interp(np.arange(samples), axp, np.asarray(draws) * [0, 1, -1, 0])
        channels.append(trace)
    return np.asanyarray(channels).T


# -----------------------------------------------------------------------------
# helpers

def as_json(value):
    """A Python value as the TypeScript side holds it (JSON: None is null, tuples are lists)."""
    return json.loads(json.dumps(value))


def ts_data(entry):
    """Trace data the TypeScript side read: { data: [...], shape: [...] }."""
    return np.asarray(entry["data"], dtype=float).reshape(entry["shape"])


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def on_copy(path):
    """A temporary copy of a file, for offspect calls that open it for writing."""
    d = tempfile.mkdtemp(prefix="ocf-offspect-suite-")
    target = Path(d) / Path(path).name
    shutil.copyfile(path, target)
    return target, d


def offspect_isindex(x):
    """offspect's isindex (offspect/cache/check.py): text of a non-negative integer."""
    if x is None or x == "" or type(x) is not str:
        return False
    try:
        ix = int(x)
        if ix < 0:
            return False
    except ValueError:
        return False
    return (ix - float(x)) < 0.000001


def offspect_update_trace_attributes(attrs):
    """offspect's update_trace_attributes: its isindex check, then the write."""
    if not offspect_isindex(attrs["cache_file_index"]):
        raise ValueError("Index must be an integer")
    ref.update_trace_attributes(attrs)


def raises(kind, fn):
    try:
        fn()
    except kind:
        return True
    raise AssertionError(f"expected {kind.__name__}")


# -----------------------------------------------------------------------------
# the checks, one per Python test

def test_cachefile_creation(p):
    out = {}
    for name in ("cachefile0", "cachefile1"):
        fx = p["fixtures"][name]
        fname, settings = fx["file"], fixture_settings(p["template"], name)
        # offspect's assertions
        assert Path(fname).exists()
        assert len(ref.origins(fname)) == 1
        assert settings["origin"] == ref.recover_annotations(fname)[0]["origin"]
        assert len(settings["traces"]) == ref.length(fname)
        # what the TypeScript side read
        ts = p["ts"][name]
        assert ts["origins"] == ref.origins(fname), (ts["origins"], ref.origins(fname))
        assert ts["length"] == ref.length(fname)
        assert ts["recover_annotations"] == as_json(ref.recover_annotations(fname))
        # the file is the one offspect's create_test_cachefile writes from these settings
        # (its own h5py writer, restated as populate in the reference), data aside: given
        # the data this package stored, every attribute's value and type, the layout,
        # dtype, shape and data agree
        _, data = ref.recover_parts(fname)
        tmp = Path(tempfile.mkdtemp(prefix="ocf-offspect-suite-"))
        try:
            ours = tmp / "reference.hdf5"
            ref.populate(ours, [fresh_settings(p["template"], name)], data)
            assert ref.dump(ours) == ref.dump(fname), f"{name}: this package's file differs from offspect's for the same settings"
        finally:
            shutil.rmtree(tmp)
        # the test signal is offspect's create_fake_trace (numpy) with the same artefact draws
        with h5py.File(fname, "r") as f:
            origin = settings["origin"]
            for tattr, draws in zip(settings["traces"], fx["artefacts"]):
                stored = np.asarray(f[origin]["traces"][str(tattr["id"])], dtype=float)
                expected = fake_trace(tattr, draws)
                assert stored.shape == expected.shape
                assert np.allclose(stored, expected, rtol=1e-12, atol=1e-12), f"{name} trace {tattr['id']}: max diff {np.max(np.abs(stored - expected))}"
        out[name] = {"traces": ref.length(fname)}
    return out


def test_cachefile_recover(p):
    fname = p["fixtures"]["cachefile0"]["file"]
    settings = fixture_settings(p["template"], "cachefile0")
    events, traces = ref.recover_parts(fname)
    assert len(events) == 1
    assert len(traces) == 1
    ts_events, ts_traces = p["ts"]["events"], p["ts"]["traces"]
    assert ts_events == as_json(events)
    assert len(ts_traces) == len(traces) and all(len(a) == len(b) for a, b in zip(ts_traces, traces))
    for ts_o, o in zip(ts_traces, traces):
        for ts_t, t in zip(ts_o, o):
            assert np.array_equal(ts_data(ts_t), np.asarray(t).reshape(ts_t["shape"]))
    summary = {"origins": len(events), "traces": len(traces[0])}
    events, traces = events[0], traces[0]
    assert events["origin"] == settings["origin"]
    for key in events["attrs"].keys():
        assert events["attrs"][key] == settings["attrs"][key], key
    for rec, orig in zip(events["traces"], settings["traces"]):
        for key in rec.keys():
            assert rec[key] == orig[key], key
    assert len(traces) == len(settings["traces"])
    return summary


def test_print_cachefile(p):
    fname = p["fixtures"]["cachefile0"]["file"]
    a = fixture_settings(p["template"], "cachefile0")
    s = p["ts"]["str"]
    assert s == ref.peek(fname), "this package's peek differs from offspect's str(CacheFile)"
    assert a["origin"] in s
    for k, v in a["attrs"].items():
        assert str(k) in s, k
        assert str(v) in s, (k, str(v))
    return {"chars": len(s)}


def test_merge_in_order(p):
    merged = p["merged"]
    a0 = fixture_settings(p["template"], "cachefile0")
    a1 = fixture_settings(p["template"], "cachefile1")
    a = ref.recover_annotations(merged)
    assert len(a) == 2
    assert a0 == a[0]
    assert a1 == a[1]
    assert ref.length(merged) == 4
    assert p["ts"]["recover_annotations"] == as_json(a)
    assert p["ts"]["length"] == 4
    # offspect's merge of the same sources gives the same file (as h5py reads it)
    tmp = Path(tempfile.mkdtemp(prefix="ocf-offspect-suite-"))
    try:
        ours = tmp / "merged.hdf5"
        ref.merge(ours, p["sources"])
        assert ref.dump(ours) == ref.dump(merged), "this package's merge differs from offspect's"
    finally:
        shutil.rmtree(tmp)
    return {"origins": len(a), "traces": ref.length(merged)}


def test_merge_inconsistent(p):
    """For test_merge_inconsistent_origins and _attrs: offspect's merge refuses these
    sources too (so the fixture is inconsistent in offspect's terms), and the target
    this package was asked to write is absent."""
    tmp = Path(tempfile.mkdtemp(prefix="ocf-offspect-suite-"))
    try:
        target = tmp / "never.hdf5"
        raises(Exception, lambda: ref.merge(target, p["sources"]))
        assert not target.exists()
    finally:
        shutil.rmtree(tmp)
    assert not Path(p["target"]).exists()
    return {"refused": True}


def test_update_trace_attributes(p):
    fname = p["fixtures"]["cachefile0"]["file"]
    new_attrs = ref.read_trace(fname, 0, "attrs")
    now = datetime.datetime.fromisoformat(p["now"])
    assert p["now"] == str(now), "the expected text is not Python's str(datetime)"
    assert new_attrs["comment"] == str(now)
    assert new_attrs == p["ts"]["attrs"]
    origin = ref.origins(fname)[0]
    with h5py.File(fname, "r") as f:
        tid = f[origin]["traces"]["0"].attrs.get_id("comment").get_type()
        assert isinstance(tid, h5py.h5t.TypeStringID) and tid.is_variable_str() and tid.get_cset() == h5py.h5t.CSET_UTF8
    return {"comment": new_attrs["comment"]}


def test_read_index_tracedata(p):
    fname = p["fixtures"]["cachefile0"]["file"]
    for i in range(ref.length(fname)):
        data = ref.read_trace(fname, i, "data")
        assert type(data) == np.ndarray
        assert data[0:50].mean() == 0.0
        assert data[50:150].mean() != 0.0
        assert np.array_equal(data, ts_data(p["ts"]["data"][i]))
    return {"traces": ref.length(fname)}


def test_read_index_raises(p):
    fname = p["fixtures"]["cachefile0"]["file"]
    raises(NotImplementedError, lambda: ref.read_trace(fname, 0, "notimplemented"))
    return {"raised": "NotImplementedError"}


def test_read_index_errors(p):
    fname = p["fixtures"]["cachefile0"]["file"]
    for i in range(ref.length(fname)):
        attrs = ref.read_trace(fname, i)
        assert attrs["cache_file_index"] == str(i)
        assert attrs["cache_file"] == str(Path(fname).absolute())
        assert attrs == p["ts"]["attrs"][i], i
    raises(ValueError, lambda: ref.read_trace(fname, 0.1))
    raises(IndexError, lambda: ref.read_trace(fname, -1))
    raises(IndexError, lambda: ref.read_trace(fname, ref.length(fname)))
    return {"traces": ref.length(fname)}


def test_update_index_errors(p):
    fname = p["fixtures"]["cachefile0"]["file"]
    before = sha256(fname)
    copy, d = on_copy(fname)  # offspect opens the file for writing before it finds the index missing
    try:
        attrs = ref.read_trace(copy, 0)
        attrs["cache_file_index"] = 0.1
        raises(ValueError, lambda: offspect_update_trace_attributes(attrs))
        attrs["cache_file_index"] = -1
        raises(Exception, lambda: offspect_update_trace_attributes(attrs))
        attrs["cache_file_index"] = str(ref.length(copy))
        raises(IndexError, lambda: offspect_update_trace_attributes(attrs))
    finally:
        shutil.rmtree(d)
    assert sha256(fname) == before
    return {"refused": 3}


def test_cachefile_len(p):
    fname = p["fixtures"]["cachefile0"]["file"]
    assert ref.length(fname) == 2
    assert p["ts"]["length"] == ref.length(fname)
    return {"len": 2}


def test_cachefile_getter_setter(p):
    fname = p["fixtures"]["cachefile0"]["file"]
    # this package's setTraceAttrs(0, attrs) with unchanged attrs left trace 0 as it was
    assert ref.read_trace(fname, 0) == p["ts"]["attrs"]
    assert np.array_equal(ref.read_trace(fname, 0, "data"), ts_data(p["ts"]["data"]))
    copy, d = on_copy(fname)  # offspect's set_trace_attrs(0, attrs) rewrites every value
    try:
        attrs = dict(p["ts"]["attrs"])
        attrs["cache_file"] = str(copy)
        ref.set_trace_attrs(copy, 0, attrs)
        assert ref.read_trace(copy, 0) == attrs
        raises(ValueError, lambda: ref.set_trace_attrs(copy, 1, attrs))
        attrs["original_file"] = "invalid_filename.hdf5"
        raises(ValueError, lambda: ref.set_trace_attrs(copy, 1, attrs))
        del attrs["original_file"]
        raises(ValueError, lambda: ref.set_trace_attrs(copy, 1, attrs))
    finally:
        shutil.rmtree(d)
    return {"refused": 3}


CHECKS = {
    "test_cachefile_creation": test_cachefile_creation,
    "test_cachefile_recover": test_cachefile_recover,
    "test_print_cachefile": test_print_cachefile,
    "test_merge_in_order": test_merge_in_order,
    "test_merge_inconsistent": test_merge_inconsistent,
    "test_update_trace_attributes": test_update_trace_attributes,
    "test_read_index_tracedata": test_read_index_tracedata,
    "test_read_index_raises": test_read_index_raises,
    "test_read_index_errors": test_read_index_errors,
    "test_update_index_errors": test_update_index_errors,
    "test_cachefile_len": test_cachefile_len,
    "test_cachefile_getter_setter": test_cachefile_getter_setter,
}

if __name__ == "__main__":
    check = CHECKS.get(sys.argv[1] if len(sys.argv) > 1 else "")
    if check is None:
        raise SystemExit(f"usage: offspect_suite.py CHECK < payload.json; CHECK is one of {', '.join(CHECKS)}")
    print(json.dumps(check(json.load(sys.stdin))))
