"""offspect's merge and populate, as offspect.cache.file implements them
(h5py + ast.literal_eval), for comparing this library's output against.

offspect itself cannot be installed here (no PyPI), so this is its algorithm,
restated: recover_parts parses every attribute with parse_traceattrs,
check_consistency compares the must-be-identical keys, populate writes
str() of every value with the origin attributes copied onto each trace and
each dataset named by str(id).

The second half restates offspect's CacheFile API (read_trace,
get_trace_attrs, len, origins, str, recover_annotations, set_trace_attrs /
update_trace_attributes) over a file name, for the variant tests
(test/variants/). Where h5py hands back a fixed-length string attribute as
numpy.bytes_, offspect would keep the bytes (and merge would store Python's
repr, "b'abc'"); this library reads every string attribute as text, on
purpose. Functions taking `bytes_as_text=True` decode such values as UTF-8
first and then follow offspect's algorithm unchanged: that is the answer this
library is compared with. The default (False) is offspect's own behaviour.

Usage: offspect_reference.py merge TARGET SOURCE...
       offspect_reference.py merge-text TARGET SOURCE...   (merge, fixed-length strings read as text)
       offspect_reference.py dump FILE   (prints a JSON dump for comparison)
       offspect_reference.py peek FILE   (offspect's str(CacheFile(FILE)), fixed-length strings as text)
"""
import ast
import json
import math
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np

MUST_BE_IDENTICAL = ["channel_labels", "channel_of_interest", "samples_post_event", "samples_pre_event",
                     "samplingrate", "subject", "readout", "readin", "version"]


def as_text(value):
    """A fixed-length string attribute's value (bytes) as the text it holds; anything else unchanged."""
    if isinstance(value, bytes):  # numpy.bytes_ is a subclass of bytes
        return bytes(value).decode("utf-8")
    return value


def attrs_dict(attrs, bytes_as_text=False):
    """offspect's asdict: dict(attrs), in h5py's order; with bytes_as_text, bytes values decoded."""
    d = dict(attrs)
    if bytes_as_text:
        d = {k: as_text(v) for k, v in d.items()}
    return d


def parse_traceattrs(attrs, bytes_as_text=False):
    d = attrs_dict(attrs, bytes_as_text)
    for key, val in d.items():
        try:
            d[key] = ast.literal_eval(val)
        except (SyntaxError, ValueError):
            if val == "inf":
                d[key] = math.inf
            if val == "nan":
                d[key] = math.nan
            if key == "xyz_coords":
                d[key] = [math.nan, math.nan, math.nan]
    return d


def recover_parts(fname, bytes_as_text=False):
    with h5py.File(fname, "r", libver="latest", swmr=True) as f:
        events, traces = [], []
        for origin in f.keys():
            yml = {"origin": origin, "attrs": parse_traceattrs(f[origin].attrs, bytes_as_text)}
            trace_attrs, trace_data = [], []
            for idx in f[origin]["traces"]:
                dset = f[origin]["traces"][idx]
                trace_attrs.append(parse_traceattrs(dset.attrs, bytes_as_text))
                trace_data.append(np.asanyarray(dset, dtype=float))
            yml["traces"] = trace_attrs
            events.append(yml)
            traces.append(trace_data)
    return events, traces


def check_consistency(annotations):
    o = [a["origin"] for a in annotations]
    if len(set(o)) != len(o):
        raise Exception(f"Origins are not unique {o}")
    for key in MUST_BE_IDENTICAL:
        check = [str(a["attrs"].get(key)) for a in annotations]
        if len(set(check)) != 1:
            raise Exception(f"{key} is inconsistent: {check}")


def new_str_attr(obj, name, value):
    """What h5py's attrs.modify(name, value) stores for a new str attribute (a scalar variable-length
    UTF-8 string), through h5py's low-level API: the same attribute, about three times faster, without
    h5py's temporary name and rename."""
    dtype = h5py.string_dtype()
    aid = h5py.h5a.create(obj.id, name.encode("utf-8"), h5py.h5t.py_create(dtype, logical=True), h5py.h5s.create(h5py.h5s.SCALAR))
    aid.write(np.array(value, dtype=dtype), mtype=h5py.h5t.py_create(dtype))


def populate(tf, annotations, traceslist, fast=False):
    """offspect's populate; fast (for files of tens of thousands of traces) writes each new
    attribute with new_str_attr instead of attrs.modify: the same file as h5py reads it."""
    def setattr_(obj, key, val):
        if fast:
            new_str_attr(obj, key, val)
        else:
            obj.attrs.modify(key, val)

    with h5py.File(tf, "w") as f:
        for settings, traces in zip(annotations, traceslist):
            ofile = f.create_group(settings["origin"])
            attrs = settings["attrs"]
            for key, val in attrs.items():
                setattr_(ofile, str(key), str(val))
            tracegrp = ofile.create_group("traces")
            for tattr, trace in zip(settings["traces"], traces):
                tattr.update(**attrs)
                idx = str(tattr["id"])
                cftrace = tracegrp.create_dataset(idx, data=trace)
                for k, v in tattr.items():
                    setattr_(cftrace, str(k), str(v))
    return tf


def merge(to, sources, bytes_as_text=False, fast=False):
    a, t = [], []
    for source in sources:
        attrs, traces = recover_parts(source, bytes_as_text)
        a.extend(attrs)
        t.extend(traces)
    check_consistency(a)
    return populate(to, a, t, fast)


def dump_entry(obj):
    """One object's entry of dump(): its attributes (value and h5py type) and, for a dataset, dtype, shape, layout and data."""
    def attrs_of(o):
        res = {}
        for k in o.attrs:
            tid = o.attrs.get_id(k).get_type()
            kind = "vlen-utf8" if isinstance(tid, h5py.h5t.TypeStringID) and tid.is_variable_str() and tid.get_cset() == h5py.h5t.CSET_UTF8 else str(tid)
            v = o.attrs[k]
            res[k] = [v if isinstance(v, str) else repr(v), kind]
        return res

    entry = {"attrs": attrs_of(obj)}
    if isinstance(obj, h5py.Dataset):
        data = obj[()]
        entry["dtype"] = str(obj.dtype)
        entry["shape"] = list(obj.shape)
        entry["chunks"] = obj.chunks
        entry["data"] = [None if math.isnan(x) else x for x in np.asarray(data, dtype=float).ravel().tolist()]
    return entry


def dump_entries(f):
    """(name, entry) of dump() one at a time: "/" first, then every object once, in h5py's visiting order."""
    yield "/", dump_entry(f)
    names = []
    f.visit(names.append)
    for name in names:
        yield name, dump_entry(f[name])


def dump(fname):
    """Every object's attributes (value and h5py type) and every dataset's dtype, shape, layout and data."""
    with h5py.File(fname, "r") as f:
        return dict(dump_entries(f))


# -----------------------------------------------------------------------------
# offspect's CacheFile API (offspect.cache.file), over a file name.

def read_file(fname):
    """offspect's read_file: SWMR read with the latest format bounds."""
    return h5py.File(fname, mode="r", libver="latest", swmr=True)


def write_file(fname):
    """offspect's write_file (h5py warns that swmr=True only affects mode "r"; offspect passes it anyway)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return h5py.File(fname, mode="r+", libver="latest", swmr=True)


def sort_keys(okeys):
    """offspect's sort_keys: trace names by numeric value, as str again."""
    return [str(k) for k in sorted(int(k) for k in okeys)]


def trace_index(f):
    """offspect's running index: (origin, trace name) of every index, origins in h5py's
    order, each origin's traces by sort_keys (a name listed twice under sort_keys is
    reached twice, as offspect reaches it)."""
    out = []
    for origin in f.keys():
        for key in sort_keys(f[origin]["traces"].keys()):
            out.append((origin, key))
    return out


# offspect calls dset.id.refresh() before reading a trace, which matters only while another
# process writes the file; these answers are for files at rest, so it is left out (it costs
# a metadata reload per trace).


def collapsed_attrs(dset, origin, fname, idx, bytes_as_text=True):
    """What offspect's read_trace(what="attrs") returns for a trace dataset: asdict(dset.attrs)
    plus origin, cache_file (the absolute path) and cache_file_index."""
    attrs = attrs_dict(dset.attrs, bytes_as_text)
    attrs["origin"] = origin
    attrs["cache_file"] = str(Path(fname).expanduser().absolute())
    attrs["cache_file_index"] = str(idx)
    return attrs


def parse_tracedata(dset):
    """offspect's parse_tracedata."""
    return np.asanyarray(dset, dtype=float)


def read_trace(fname, idx, what="attrs", bytes_as_text=True):
    """offspect's read_trace(cf, idx, what)."""
    if type(idx) != int:
        raise ValueError("Index must be an integer")
    if idx >= 0:
        with read_file(fname) as f:
            index = trace_index(f)
            if idx < len(index):
                origin, key = index[idx]
                dset = f[origin]["traces"][key]
                if what == "attrs":
                    return collapsed_attrs(dset, origin, fname, idx, bytes_as_text)
                if what == "data":
                    return parse_tracedata(dset)
                raise NotImplementedError(f"{what} can not be loaded")
    raise IndexError(f"{idx} not in cachefile")


def get_trace_attrs(fname, idx, bytes_as_text=True):
    return read_trace(fname, idx, "attrs", bytes_as_text)


def get_trace_data(fname, idx):
    return read_trace(fname, idx, "data")


def length(fname):
    """offspect's len(cf): the traces of every origin, counted by enumerating each
    traces group. (offspect's loop raises UnboundLocalError when the first origin
    has no traces; an empty origin counts 0 here, as offspect counts it elsewhere.)"""
    cnt = 0
    with read_file(fname) as f:
        for origin in f.keys():
            idx = cnt
            for idx, _ in enumerate(f[origin]["traces"], start=cnt + 1):
                pass
            cnt = idx
    return int(cnt)


def origins(fname):
    with read_file(fname) as f:
        return list(f.keys())


def recover_annotations(fname, bytes_as_text=True):
    """offspect's recover_annotations: per origin its parsed attributes and its traces'
    parsed attributes, traces in h5py's order (not sort_keys)."""
    with read_file(fname) as f:
        events = []
        for origin in f.keys():
            yml = {"origin": origin, "attrs": parse_traceattrs(f[origin].attrs, bytes_as_text)}
            trace_attrs = []
            for idx in f[origin]["traces"]:
                dset = f[origin]["traces"][idx]
                trace_attrs.append(parse_traceattrs(dset.attrs, bytes_as_text))
            yml["traces"] = trace_attrs
            events.append(yml)
    return events


def peek_text(origins_seen, total):
    """The text of offspect's __str__ from (origin, parsed origin attributes, number of traces) of
    each origin (what it takes from recover_annotations) and len(cf)."""
    s = ""
    h = "-" * 79 + "\n"
    gap = 20
    ox = 0
    for ox, (origin, attrs, count) in enumerate(origins_seen, start=1):
        k = "origin"
        o = f"{k:{gap}s} : {origin}\n"
        a = ""
        for k, v in attrs.items():
            a += f"{k:{gap}s} : {v}\n"
        k = "traces_count"
        tc = f"{k:{gap}s} : {count}\n"
        s += "".join((h, o, a, tc))
    s += h
    s += f"In total, there are {total} traces from {ox} origins"
    return s


def peek(fname, bytes_as_text=True):
    """offspect's str(CacheFile(fname)): each origin's parsed attributes and trace count, then the totals."""
    seen = [(a["origin"], a["attrs"], len(a["traces"])) for a in recover_annotations(fname, bytes_as_text)]
    return peek_text(seen, length(fname))


def encode_value(value):
    """offspect's encode, for the values update_trace_attributes meets (text, paths, numbers)."""
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return value
    import yaml
    return yaml.dump(value, Dumper=yaml.Dumper).splitlines()[0]


def update_trace_attributes(attrs):
    """offspect's update_trace_attributes: every key but cache_file and cache_file_index
    (origin included) written with h5py's attrs[key] = value, on the file opened as
    offspect's write_file opens it."""
    index = int(attrs["cache_file_index"])
    fname = attrs["cache_file"]
    values = {k: v for k, v in attrs.items() if k not in ("cache_file_index", "cache_file")}
    if index >= 0:
        with write_file(fname) as f:
            for i, (origin, key) in enumerate(trace_index(f)):
                if i == index:
                    dset = f[origin]["traces"][key]
                    for k in values:
                        dset.attrs[encode_value(k)] = encode_value(values[k])
                    return
    raise IndexError(f"{index} not in cachefile")


def set_trace_attrs(fname, idx, attrs):
    """offspect's CacheFile.set_trace_attrs: the origin checks, then update_trace_attributes."""
    if "cache_file" not in attrs or "cache_file_index" not in attrs:
        raise ValueError("This attributes do not originate from a CacheFile. Information about its origin is missing")
    if str(Path(fname).expanduser().absolute()) != attrs["cache_file"]:
        raise ValueError("These attributes did not originate from this CacheFile")
    if idx != int(attrs["cache_file_index"]):
        raise ValueError("These attributes did originate from a different trace in this CacheFile")
    update_trace_attributes(attrs)


def verify(fname):
    """What h5py and offspect's API read of a file, as one digest (every object's attributes and
    data, and every trace's collapsed attributes and data through offspect's calls, its own path
    left out), or the error that stopped them."""
    import hashlib
    try:
        content = {"dump": dump(fname), "traces": []}
        for i in range(length(fname)):
            attrs = {k: v for k, v in get_trace_attrs(fname, i).items() if k != "cache_file"}
            data = np.asarray(get_trace_data(fname, i), dtype=float)
            content["traces"].append([attrs, hashlib.sha256(data.tobytes()).hexdigest(), list(data.shape)])
        text = json.dumps(content, sort_keys=True, default=repr)
        return {"file": fname, "ok": True, "digest": hashlib.sha256(text.encode()).hexdigest(), "traces": len(content["traces"])}
    except Exception as e:  # noqa: BLE001 - the test reports what failed
        return {"file": fname, "ok": False, "error": f"{type(e).__name__}: {e}"}


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "merge":
        merge(sys.argv[2], sys.argv[3:])
        print(json.dumps(True))
    elif cmd == "merge-text":
        merge(sys.argv[2], sys.argv[3:], bytes_as_text=True)
        print(json.dumps(True))
    elif cmd == "dump":
        print(json.dumps(dump(sys.argv[2])))
    elif cmd == "verify":
        print(json.dumps([verify(f) for f in sys.argv[2:]]))
    elif cmd == "peek":
        print(peek(sys.argv[2]))
    else:
        raise SystemExit(f"unknown command {cmd}")
