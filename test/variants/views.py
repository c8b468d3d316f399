"""What h5py and offspect see in a CacheFile, as JSON, for test/variants.test.ts.

h5py_view(FILE): h5py's raw view of every object under every path (hard-linked
objects under each of their paths), in h5py's iteration order: members of
groups; attributes as [name, value, type]; dtype, shape, chunks, filters,
sha256 of the data as little-endian float64 and its first values; "addr", the
object header's address, tells which paths name one object (hard links).

offspect_answers(FILE): offspect's API answers (test/helpers/offspect_reference.py):
len, origins, str, every trace's collapsed attributes (cache_file left null:
it differs per copy), data shape and sha256, recover_annotations.

merge_report(FILE): offspect_reference.dump of a merged file and h5py's order
of its origins, traces and attributes.

For files with very many traces ("sample" mode) only a deterministic sample of
traces is spelled out (first, last, every 997th). h5py_view then represents
every other object by the sha256 of its entry, so that an edit is checked
everywhere; merge_report gives the groups (every member's name, in order) and
the sampled traces, since reading every attribute of a merged file of 65,600
traces with h5py takes most of a minute.

Usage: views.py view FILE [--sample]           (h5py_view as JSON on stdout)
       views.py merge-report FILE [--sample]   (merge_report)
       views.py answers FILE [--sample]        (offspect_answers)
"""
import hashlib
import json
import math
import os
import sys

import h5py
import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
import offspect_reference as ref  # noqa: E402

STRPAD = {h5py.h5t.STR_NULLTERM: "nullterm", h5py.h5t.STR_NULLPAD: "nullpad", h5py.h5t.STR_SPACEPAD: "spacepad"}
CSET = {h5py.h5t.CSET_ASCII: "ascii", h5py.h5t.CSET_UTF8: "utf8"}
SAMPLE_STEP = 997
HEAD = 8
MAX_DUMP_VALUES = 2000


def sample_indices(n):
    """The deterministic sample of 0..n-1: first, last and every 997th."""
    return sorted(set(range(0, n, SAMPLE_STEP)) | ({n - 1} if n > 0 else set()))


def canonical(entry):
    return hashlib.sha256(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


def jsonable(v):
    """A parsed attribute value (ast.literal_eval's) in the JSON conventions of test/fixtures/offspect/*.json."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return {"float": "nan"}
        if math.isinf(v):
            return {"float": "inf" if v > 0 else "-inf"}
        return v
    if isinstance(v, (list, tuple, set, frozenset)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, complex):
        return {"real": v.real, "imag": v.imag}
    if isinstance(v, bytes):
        return {"bytes": bytes(v).decode("utf-8", "backslashreplace")}
    return {"repr": repr(v), "type": type(v).__name__}


def float_json(x):
    if math.isnan(x):
        return None
    if math.isinf(x):
        return {"float": "inf" if x > 0 else "-inf"}
    return x


# ----------------------------------------------------------------------------- h5py's view

def type_of(tid):
    if isinstance(tid, h5py.h5t.TypeStringID):
        vlen = bool(tid.is_variable_str())
        return {"class": "string", "vlen": vlen, "cset": CSET.get(tid.get_cset(), str(tid.get_cset())),
                "size": None if vlen else int(tid.get_size()), "strpad": STRPAD.get(tid.get_strpad(), str(tid.get_strpad()))}
    return {"class": str(tid.dtype)}


def value_of(v):
    """An attribute value as h5py hands it back: text as is, fixed-length bytes decoded as UTF-8."""
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return bytes(v).decode("utf-8", "backslashreplace")
    return {"repr": repr(v)}


def attrs_of(obj):
    out = []
    for k in obj.attrs:
        out.append([k, value_of(obj.attrs[k]), type_of(obj.attrs.get_id(k).get_type())])
    return out


def data_facts(ds):
    data = np.asarray(ds, dtype="<f8")
    flat = data.ravel()
    return {
        "data_sha256_f64le": hashlib.sha256(data.tobytes()).hexdigest(),
        "head": [float_json(float(x)) for x in flat[:HEAD]],
    }


def h5py_entry(obj):
    info = h5py.h5o.get_info(obj.id)
    if isinstance(obj, h5py.Group):
        return {"kind": "group", "members": list(obj), "attrs": attrs_of(obj), "addr": int(info.addr)}
    entry = {
        "kind": "dataset",
        "attrs": attrs_of(obj),
        "dtype": str(obj.dtype),
        "shape": list(obj.shape),
        "chunks": None if obj.chunks is None else list(obj.chunks),
        "compression": obj.compression,
        "shuffle": bool(obj.shuffle),
        "fletcher32": bool(obj.fletcher32),
        "addr": int(info.addr),
    }
    entry.update(data_facts(obj))
    return entry


def walk(f):
    """(path, object) of every path, in h5py's order, a hard-linked object under each of its paths."""
    stack = [("/", f, ())]
    while stack:
        path, obj, seen = stack.pop()
        yield path, obj
        if isinstance(obj, h5py.Group):
            addr = h5py.h5o.get_info(obj.id).addr
            if addr in seen:
                continue
            children = []
            for name in obj:
                child = obj.get(name)
                if child is None:  # a dangling soft or external link: not an object
                    continue
                children.append(((path.rstrip("/") + "/" + name), child, seen + (addr,)))
            stack.extend(reversed(children))


def sampled_trace_paths(f):
    """Paths of the traces of the sample (offspect's running index), and the traces groups' paths."""
    index = ref.trace_index(f)
    return {f"/{index[i][0]}/traces/{index[i][1]}" for i in sample_indices(len(index))}


def h5py_view(fname, sample=False):
    objects, digests = {}, {}
    with h5py.File(fname, "r") as f:
        keep = sampled_trace_paths(f) if sample else None
        for path, obj in walk(f):
            entry = h5py_entry(obj)
            if keep is None:
                objects[path] = entry
                continue
            digests[path] = canonical({k: v for k, v in entry.items() if k != "addr"})
            if entry["kind"] == "group" or path in keep:
                objects[path] = entry
    return {"objects": objects, **({"digests": digests} if sample else {})}


# ----------------------------------------------------------------------------- offspect's answers

def offspect_answers(fname, sample=False):
    """offspect's API answers for fname (fixed-length strings as text, see offspect_reference)."""
    out = {"file": os.path.basename(fname), "len": ref.length(fname), "origins": ref.origins(fname)}
    annotations = []
    with ref.read_file(fname) as f:
        # recover_annotations, all of it or (sample) the origins, counts and sampled traces;
        # offspect's str is made of its origins' parsed attributes and trace counts.
        seen = []
        for origin in f.keys():
            parsed = ref.parse_traceattrs(f[origin].attrs, True)
            names = list(f[origin]["traces"])
            seen.append((origin, parsed, len(names)))
            entry = {"origin": origin, "attrs": jsonable(parsed)}
            positions = sample_indices(len(names)) if sample else range(len(names))
            recovered = [jsonable(ref.parse_traceattrs(f[origin]["traces"][names[p]].attrs, True)) for p in positions]
            if sample:
                entry["traces_count"] = len(names)
                entry["traces_sample"] = [[p, t] for p, t in zip(positions, recovered)]
            else:
                entry["traces"] = recovered
            annotations.append(entry)
        out["str"] = ref.peek_text(seen, out["len"])
        index = ref.trace_index(f)
        indices = sample_indices(len(index)) if sample else range(len(index))
        out["sample"] = list(indices) if sample else None
        traces = []
        for i in indices:
            origin, key = index[i]
            dset = f[origin]["traces"][key]
            attrs = ref.collapsed_attrs(dset, origin, fname, i)
            attrs["cache_file"] = None
            data = ref.parse_tracedata(dset)
            traces.append({
                "index": i,
                "path": f"/{origin}/traces/{key}",
                "attrs": attrs,
                "shape": list(data.shape),
                "sha256_f64le": hashlib.sha256(np.asarray(data, dtype="<f8").tobytes()).hexdigest(),
                "head": [float_json(float(x)) for x in data.ravel()[:HEAD]],
            })
        out["traces"] = traces
    out["recover_annotations"] = annotations
    return out


# ----------------------------------------------------------------------------- merged files

def compact_dump_entry(entry):
    """A dump() entry with long data replaced by its sha256 (of the same JSON list), length and head."""
    data = entry.get("data")
    if data is not None and len(data) > MAX_DUMP_VALUES:
        entry = dict(entry)
        entry["data"] = {"sha256_json": canonical(data), "len": len(data), "head": data[:HEAD]}
    return entry


def merge_report(fname, sample=False):
    """offspect_reference.dump of fname (long data as sha256) and h5py's order of members and
    attributes; with sample, of the groups (all members listed) and the sampled traces only."""
    dump, order = {}, {}
    with h5py.File(fname, "r") as f:
        if sample:
            keep = sampled_trace_paths(f)
            names = []
            f.visit(lambda name: names.append(name) if isinstance(f[name], h5py.Group) or "/" + name in keep else None)
            entries = [("/", ref.dump_entry(f))] + [(name, ref.dump_entry(f[name])) for name in names]
        else:
            entries = ref.dump_entries(f)
        for name, entry in entries:
            path = name if name == "/" else "/" + name
            obj = f[name]
            order[path] = {"attrs": list(entry["attrs"].keys())}
            if isinstance(obj, h5py.Group):
                order[path]["members"] = list(obj)
            dump[path] = compact_dump_entry(entry)
    return {"dump": dump, "order": order}


def main(argv):
    cmd, fname = argv[1], argv[2]
    sample = "--sample" in argv[3:]
    if cmd == "view":
        out = h5py_view(fname, sample)
    elif cmd == "merge-report":
        out = merge_report(fname, sample)
    elif cmd == "answers":
        out = offspect_answers(fname, sample)
    else:
        raise SystemExit(f"unknown command {cmd}")
    sys.stdout.buffer.write(json.dumps(out, ensure_ascii=False, allow_nan=False).encode("utf-8"))


if __name__ == "__main__":
    main(sys.argv)
