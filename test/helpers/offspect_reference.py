"""offspect's merge and populate, as offspect.cache.file implements them
(h5py + ast.literal_eval), for comparing this library's output against.

offspect itself cannot be installed here (no PyPI), so this is its algorithm,
restated: recover_parts parses every attribute with parse_traceattrs,
check_consistency compares the must-be-identical keys, populate writes
str() of every value with the origin attributes copied onto each trace and
each dataset named by str(id).

Usage: offspect_reference.py merge TARGET SOURCE...
       offspect_reference.py dump FILE   (prints a JSON dump for comparison)
"""
import ast
import json
import math
import sys

import h5py
import numpy as np

MUST_BE_IDENTICAL = ["channel_labels", "channel_of_interest", "samples_post_event", "samples_pre_event",
                     "samplingrate", "subject", "readout", "readin", "version"]


def parse_traceattrs(attrs):
    d = dict(attrs)
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


def recover_parts(fname):
    with h5py.File(fname, "r", libver="latest", swmr=True) as f:
        events, traces = [], []
        for origin in f.keys():
            yml = {"origin": origin, "attrs": parse_traceattrs(f[origin].attrs)}
            trace_attrs, trace_data = [], []
            for idx in f[origin]["traces"]:
                dset = f[origin]["traces"][idx]
                trace_attrs.append(parse_traceattrs(dset.attrs))
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


def populate(tf, annotations, traceslist):
    with h5py.File(tf, "w") as f:
        for settings, traces in zip(annotations, traceslist):
            ofile = f.create_group(settings["origin"])
            attrs = settings["attrs"]
            for key, val in attrs.items():
                ofile.attrs.modify(str(key), str(val))
            tracegrp = ofile.create_group("traces")
            for tattr, trace in zip(settings["traces"], traces):
                tattr.update(**attrs)
                idx = str(tattr["id"])
                cftrace = tracegrp.create_dataset(idx, data=trace)
                for k, v in tattr.items():
                    cftrace.attrs.modify(str(k), str(v))
    return tf


def merge(to, sources):
    a, t = [], []
    for source in sources:
        attrs, traces = recover_parts(source)
        a.extend(attrs)
        t.extend(traces)
    check_consistency(a)
    return populate(to, a, t)


def dump(fname):
    """Every object's attributes (value and h5py type) and every dataset's dtype, shape, layout and data."""
    out = {}
    with h5py.File(fname, "r") as f:
        def attrs_of(obj):
            res = {}
            for k in obj.attrs:
                tid = obj.attrs.get_id(k).get_type()
                kind = "vlen-utf8" if isinstance(tid, h5py.h5t.TypeStringID) and tid.is_variable_str() and tid.get_cset() == h5py.h5t.CSET_UTF8 else str(tid)
                v = obj.attrs[k]
                res[k] = [v if isinstance(v, str) else repr(v), kind]
            return res

        def visit(name, obj):
            entry = {"attrs": attrs_of(obj)}
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                entry["dtype"] = str(obj.dtype)
                entry["shape"] = list(obj.shape)
                entry["chunks"] = obj.chunks
                entry["data"] = [None if math.isnan(x) else x for x in np.asarray(data, dtype=float).ravel().tolist()]
            out[name] = entry
        out["/"] = {"attrs": attrs_of(f)}
        f.visititems(visit)
    return out


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "merge":
        merge(sys.argv[2], sys.argv[3:])
        print(json.dumps(True))
    elif cmd == "dump":
        print(json.dumps(dump(sys.argv[2])))
    else:
        raise SystemExit(f"unknown command {cmd}")
