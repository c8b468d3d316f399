"""Writes valid CacheFiles that differ in how HDF5 stores them, with h5py's and
offspect's answers for each: the variant tests' input (test/variants.test.ts).

Each variant takes the content of offspect-written fixtures
(test/fixtures/offspect/: origins, attributes, data) and writes it again with
other storage settings: layouts and filters, data types, string types of
attributes, file format versions, creation order, links, edits, h5repack,
sizes. For each OUTDIR/NAME.hdf5 it writes

  NAME.h5py.json      h5py's raw view of every object (views.h5py_view)
  NAME.offspect.json  offspect's API answers (views.offspect_answers)
  NAME.merge.json     offspect's merge of the file alone (merge_report of the
                      result, or the error offspect's merge raises)
  NAME.merge2.json    for some: offspect's merge of the file and a second source

then OUTDIR/manifest.json and, last, OUTDIR/DONE. Everything is deterministic:
fixed seeds, and h5py's temporary attribute names (uuid4) drawn from a seeded
generator.

Usage: make_variants.py OUTDIR     (Debian's /usr/bin/python3: h5py, numpy; h5repack on PATH)
       make_variants.py OUTDIR --only NAME,NAME   (some variants, without DONE: for work on this script)
       make_variants.py --list     (the variants' names and descriptions as JSON)
"""
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed

sys.dont_write_bytecode = True  # no __pycache__ in the repository
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "offspect")
sys.path.insert(0, os.path.join(ROOT, "test", "helpers"))
sys.path.insert(0, HERE)

LARGE = 5000  # variants with more traces than this are compared on a sample

# ----------------------------------------------------------------------------- content


class Trace:
    def __init__(self, name, attrs, data):
        self.name = name
        self.attrs = list(attrs)  # [(key, text)] in h5py's order
        self.data = data


class Origin:
    def __init__(self, name, attrs, traces):
        self.name = name
        self.attrs = list(attrs)
        self.traces = list(traces)


def load(fixture):
    """The origins of an offspect fixture: attributes as text in h5py's order, traces in numeric order."""
    import h5py
    import numpy as np
    out = []
    with h5py.File(os.path.join(FIXTURES, fixture), "r") as f:
        for name in f:
            g = f[name]
            names = sorted(g["traces"], key=int)
            traces = [Trace(n, g["traces"][n].attrs.items(), np.asarray(g["traces"][n][()])) for n in names]
            out.append(Origin(name, g.attrs.items(), traces))
    return out


def replaced(pairs, **values):
    """pairs with the values of the given keys replaced (order kept; new keys appended)."""
    out = [(k, values.pop(k) if k in values else v) for k, v in pairs]
    return out + list(values.items())


def with_origin_attrs(origin, **values):
    """The origin with origin attribute values replaced, on the group and on every trace's copy."""
    return Origin(origin.name, replaced(origin.attrs, **values),
                  [Trace(t.name, replaced(t.attrs, **{k: v for k, v in values.items() if k in dict(t.attrs)}), t.data)
                   for t in origin.traces])


def renamed(origin, name):
    return Origin(name, origin.attrs, origin.traces)


def t1():
    return load("template_R001.hdf5")


def t13():
    return load("template_R001.hdf5") + load("template_R003.hdf5")


def mapping():
    return load("map_session.hdf5")


def erp():
    return load("erp_multichannel.hdf5")


# ----------------------------------------------------------------------------- writers


def deterministic_uuids(seed):
    """h5py names new attributes uuid4().hex before renaming them: draw those from a seeded generator."""
    rng = random.Random(seed)
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)


def vlen_str(obj, key, value):
    obj.attrs[key] = value


def vlen_ascii(obj, key, value):
    obj.attrs[key] = value.encode("ascii")  # h5py writes bytes as a variable-length ASCII string


def np_bytes(obj, key, value):
    import numpy as np
    obj.attrs[key] = np.bytes_(value.encode("ascii"))  # fixed-length ASCII, NULLPAD, exactly as long as the text


def fixed(cset, strpad, extra):
    """A writer of fixed-length strings of the given character set and padding, `extra` bytes longer than the text."""
    import h5py
    import numpy as np

    def write(obj, key, value):
        raw = value.encode("utf-8" if cset == h5py.h5t.CSET_UTF8 else "ascii")
        size = max(1, len(raw) + extra)
        tid = h5py.h5t.C_S1.copy()
        tid.set_size(size)
        tid.set_cset(cset)
        tid.set_strpad(strpad)
        pad = b" " if strpad == h5py.h5t.STR_SPACEPAD else b"\0"
        aid = h5py.h5a.create(obj.id, key.encode("utf-8"), tid, h5py.h5s.create(h5py.h5s.SCALAR))
        aid.write(np.array(raw + pad * (size - len(raw)), dtype=f"S{size}"), mtype=tid)

    return write


def fixed_utf8_h5py(obj, key, value):
    import h5py
    raw = value.encode("utf-8")
    obj.attrs.create(key, raw, dtype=h5py.string_dtype("utf-8", max(1, len(raw))))


def mixed_writer():
    """Each attribute in one of six string types, chosen by a seeded generator."""
    import h5py
    kinds = [vlen_str, vlen_ascii, np_bytes, fixed(h5py.h5t.CSET_ASCII, h5py.h5t.STR_NULLTERM, 3),
             fixed(h5py.h5t.CSET_ASCII, h5py.h5t.STR_SPACEPAD, 5), fixed(h5py.h5t.CSET_UTF8, h5py.h5t.STR_NULLPAD, 2)]
    rng = random.Random(6)
    return lambda obj, key, value: rng.choice(kinds)(obj, key, value)


def plain_dataset(**kw):
    def make(group, name, data):
        return group.create_dataset(name, data=data, **kw)
    return make


def cast_dataset(dtype, transform=lambda d: d, **kw):
    import numpy as np

    def make(group, name, data):
        return group.create_dataset(name, data=np.asarray(transform(data)).astype(dtype), **kw)
    return make


def compact_dataset(group, name, data):
    """A dataset of the compact layout (data inside the object header), through h5py's low-level API."""
    import h5py
    import numpy as np
    data = np.ascontiguousarray(data, dtype="<f8")
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    dsid = h5py.h5d.create(group.id, name.encode("utf-8"), h5py.h5t.IEEE_F64LE, h5py.h5s.create_simple(data.shape), dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
    return h5py.Dataset(dsid)


def write(path, origins, *, libver=None, userblock=0, file_track_order=False, group_track_order=False,
          dataset=None, attr=vlen_str, attr_order=lambda pairs: pairs, origin_order=lambda os_: os_, seed=0):
    """Writes origins as a CacheFile (FORMAT.md): /ORIGIN (origin attributes) /ORIGIN/traces/NAME (trace attributes, data)."""
    import h5py
    deterministic_uuids(seed)
    dataset = dataset or plain_dataset()
    kw = {}
    if libver:
        kw["libver"] = libver
    if userblock:
        kw["userblock_size"] = userblock
    if file_track_order:
        kw["track_order"] = True
    with h5py.File(path, "w", **kw) as f:
        for o in origin_order(origins):
            g = f.create_group(o.name, track_order=True) if group_track_order else f.create_group(o.name)
            for k, v in attr_order(o.attrs):
                attr(g, k, v)
            tg = g.create_group("traces", track_order=True) if group_track_order else g.create_group("traces")
            for t in o.traces:
                d = dataset(tg, t.name, t.data)
                for k, v in attr_order(t.attrs):
                    attr(d, k, v)


def shuffled(seed):
    def order(pairs):
        pairs = list(pairs)
        random.Random(seed).shuffle(pairs)
        return pairs
    return order


def reversed_order(pairs):
    return list(reversed(pairs))


def h5repack(src, dst, *args):
    subprocess.run(["h5repack", *args, src, dst], check=True, capture_output=True)


def write_huge(path, n):
    """One origin of n tiny traces (10 x 1), each with the trace keys id, reject and comment."""
    import h5py
    import numpy as np
    [o] = t1()
    attrs = replaced(o.attrs, samples_pre_event="5", samples_post_event="5", global_comment="one long session")
    data = np.random.default_rng(n).standard_normal((n, 10, 1)).round(3)
    deterministic_uuids(n)
    with h5py.File(path, "w") as f:
        g = f.create_group("S09_long_session.xdf")
        for k, v in attrs:
            g.attrs[k] = v
        tg = g.create_group("traces")
        for i in range(n):
            d = tg.create_dataset(str(i), data=data[i])
            d.attrs["comment"] = "" if i % 3 else f"trace {i}"
            d.attrs["id"] = str(i)
            d.attrs["reject"] = "True" if i % 11 == 0 else "False"


# ----------------------------------------------------------------------------- variants

VARIANTS = {}  # name -> (description, build(path), options)


def variant(name, description, **options):
    def register(build):
        VARIANTS[name] = (description, build, options)
        return build
    return register


def simple(name, description, content, **kw):
    options = {k: kw.pop(k) for k in ("merge_with", "edit") if k in kw}
    VARIANTS[name] = (description, lambda path: write(path, content(), **kw), options)


simple("plain", "template_R001 written again by h5py with its defaults", t1)
for _lv in ("earliest", "v108", "v110", "latest"):
    simple(f"libver_{_lv}", f"map_session written with libver={_lv!r}"
           + (" (dense attribute storage: more than 8 attributes in new-style headers)" if _lv != "earliest" else ""),
           mapping, libver=_lv)
simple("chunked", "map_session, data chunked (100, 1)", mapping, dataset=plain_dataset(chunks=(100, 1)))
simple("gzip", "map_session, data gzip level 4", mapping, dataset=plain_dataset(compression="gzip", compression_opts=4))
simple("shuffle_gzip", "erp_multichannel, shuffle and gzip 9 in chunks of (250, 8)", erp,
       dataset=plain_dataset(chunks=(250, 8), shuffle=True, compression="gzip", compression_opts=9))
simple("fletcher32", "template_R001, data with the fletcher32 checksum filter", t1, dataset=plain_dataset(fletcher32=True))
simple("lzf", "template_R001, data LZF-compressed (h5py's filter 32000)", t1, dataset=plain_dataset(compression="lzf"),
       merge_with=["fixture:template_R002.hdf5"])
simple("shuffle_lzf_fletcher32", "erp_multichannel, shuffle, LZF and fletcher32", erp,
       dataset=plain_dataset(shuffle=True, compression="lzf", fletcher32=True))
simple("dtype_float16", "template_R001, data as float16", t1, dataset=cast_dataset("<f2"))
simple("dtype_float32", "template_R001, data as float32", t1, dataset=cast_dataset("<f4"))
simple("dtype_int16", "template_R001, data x100 rounded, as int16", t1, dataset=cast_dataset("<i2", lambda d: (d * 100).round()))
simple("dtype_int32", "template_R001, data x100 rounded, as int32", t1, dataset=cast_dataset("<i4", lambda d: (d * 100).round()))
simple("dtype_uint8", "template_R001, data +128 rounded and clipped to 0..255, as uint8", t1,
       dataset=cast_dataset("u1", lambda d: (d + 128).round().clip(0, 255)))
simple("dtype_be_int32", "template_R001, data x100 rounded, as big-endian int32 (>i4)", t1,
       dataset=cast_dataset(">i4", lambda d: (d * 100).round()))
simple("dtype_be_float64", "template_R001, data as big-endian float64 (>f8)", t1, dataset=cast_dataset(">f8"))
simple("data_1d", "template_R001, each trace 1-D (200,) instead of (200, 1)", t1, dataset=cast_dataset("<f8", lambda d: d[:, 0]))
simple("compact_layout", "template_R001, data in the compact layout (inside the object header)", t1, dataset=compact_dataset)
simple("attrs_fixed_ascii", "template_R001, every attribute a fixed-length ASCII string (numpy.bytes_, NULLPAD, exact size)",
       t1, attr=np_bytes)
simple("attrs_vlen_ascii", "template_R001, every attribute written from Python bytes (variable-length ASCII)", t1, attr=vlen_ascii)
simple("attrs_unordered", "template_R001, attributes written in a shuffled (non-alphabetical) order", t1, attr_order=shuffled(3))
simple("track_order_file", "template_R001 and R003, File(track_order=True), R003 created first", t13,
       file_track_order=True, origin_order=reversed_order, merge_with=["fixture:template_R002.hdf5"])
simple("track_order_groups", "map_session, origin and traces groups and datasets with track_order=True, origins created"
       " last first, attributes in reverse order", mapping, group_track_order=True, origin_order=reversed_order,
       attr_order=reversed_order, dataset=plain_dataset(track_order=True), merge_with=["variant:_extra_map_run0.hdf5"])
def origins300():
    [o] = t1()
    return [renamed(o, f"P{i:03d}_R001.xdf") for i in range(300)]


simple("origins300", "300 origins of two traces (template_R001's), created in a shuffled order", origins300,
       origin_order=shuffled(300))
simple("unicode_origins", "origins Proband_Müller_ß_R001.xdf, 被験者_R002.xdf, Ｚ_fullwidth_R003.xdf, 😀_emoji_R004.xdf", lambda: [
    renamed(load("template_R001.hdf5")[0], "Proband_Müller_ß_R001.xdf"),
    renamed(load("template_R002.hdf5")[0], "被験者_R002.xdf"),
    renamed(load("template_R003.hdf5")[0], "Ｚ_fullwidth_R003.xdf"),
    renamed(load("template_R001.hdf5")[0], "😀_emoji_R004.xdf")])


@variant("attrs_fixed_ascii_nullterm", "template_R001, every attribute fixed-length ASCII, NULLTERM, 8 bytes longer than the text")
def _(path):
    import h5py
    write(path, t1(), attr=fixed(h5py.h5t.CSET_ASCII, h5py.h5t.STR_NULLTERM, 8))


@variant("attrs_fixed_ascii_spacepad", "template_R001, every attribute fixed-length ASCII, SPACEPAD, 8 bytes longer than the text")
def _(path):
    import h5py
    write(path, t1(), attr=fixed(h5py.h5t.CSET_ASCII, h5py.h5t.STR_SPACEPAD, 8))


def unicode_t1():
    [o] = t1()
    o = with_origin_attrs(o, global_comment="Müdigkeit, 疲労 ✓")
    o.traces[1].attrs = replaced(o.traces[1].attrs, comment="Spule verrutscht – ß ✓ 😀")
    return [o]


@variant("attrs_fixed_utf8", "template_R001 with non-ASCII comments, every attribute fixed-length UTF-8 (h5py string_dtype('utf-8', n))")
def _(path):
    write(path, unicode_t1(), attr=fixed_utf8_h5py)


@variant("attrs_fixed_utf8_nullterm", "template_R001 with non-ASCII comments, every attribute fixed-length UTF-8, NULLTERM, 4 bytes longer")
def _(path):
    import h5py
    write(path, unicode_t1(), attr=fixed(h5py.h5t.CSET_UTF8, h5py.h5t.STR_NULLTERM, 4))


@variant("attrs_mixed_types", "map_session, each attribute one of six string types (vlen UTF-8/ASCII, fixed ASCII"
         " NULLPAD/NULLTERM/SPACEPAD, fixed UTF-8)")
def _(path):
    write(path, mapping(), attr=mixed_writer())


@variant("userblock", "template_R001 with a 512-byte userblock holding text")
def _(path):
    write(path, t1(), userblock=512)
    with open(path, "r+b") as fh:
        fh.write(b"offspect-cachefile test variant: this userblock is not HDF5\n")


@variant("fillvalue_nodata", "template_R001, trace 1 created with shape, dtype and fillvalue=1.5 and no data written")
def _(path):
    base = plain_dataset()

    def dataset(group, name, data):
        if name == "1":
            return group.create_dataset(name, shape=data.shape, dtype="<f8", fillvalue=1.5)
        return base(group, name, data)
    write(path, t1(), dataset=dataset)


def many_attrs():
    [o] = t1()
    for t in o.traces:
        t.attrs = t.attrs + [(f"note_{k:03d}", f"note {k} of trace {t.name}: " + "x" * (k % 17)) for k in range(200)]
    return [o]


@variant("many_attrs_earliest", "template_R001 with 200 more attributes per trace (229), shuffled, earliest format"
         " (object header continuation chunks)")
def _(path):
    write(path, many_attrs(), attr_order=shuffled(200))


@variant("many_attrs_latest", "template_R001 with 200 more attributes per trace (229), shuffled, libver='latest' (dense)")
def _(path):
    write(path, many_attrs(), attr_order=shuffled(201), libver="latest")


def long_text(n):
    """About n bytes of words. It starts "Protokoll: " because offspect's parse_traceattrs (ast.literal_eval)
    raises MemoryError, which offspect does not catch, on 100 KB of bare words: no answer to compare with."""
    words = ["Motorkortex", "Schwelle", "hotspot", "Müdigkeit", "EMG", "TMS", "Spule", "疲労", "ruhig", "✓"]
    rng = random.Random(n)
    out = ["Protokoll:"]
    size = len(out[0]) + 1
    while size < n:
        w = rng.choice(words)
        out.append(w)
        size += len(w.encode("utf-8")) + 1
    return " ".join(out)


@variant("long_attr", "template_R001, a 100 KB text in the origin's history (copied onto each trace) and in trace 0's long_note")
def _(path):
    [o] = t1()
    o = with_origin_attrs(o, history=long_text(100_000))
    o.traces[0].attrs = o.traces[0].attrs + [("long_note", long_text(100_001))]
    write(path, [o])


@variant("long_attr_fixed_latest", "template_R001, libver='latest', trace 0 with a 100 KB fixed-length ASCII attribute long_note"
         " (dense storage: too large for an object header)")
def _(path):
    import h5py
    [o] = t1()
    text = ("Notes: " + " ".join(f"sample{k}" for k in range(12_000)))[:100_000]  # see long_text
    write(path, [o], libver="latest")
    with h5py.File(path, "r+", libver="latest") as f:
        fixed(h5py.h5t.CSET_ASCII, h5py.h5t.STR_NULLPAD, 0)(f[f"{o.name}/traces/0"], "long_note", text)


@variant("hardlink", "map_session with S07_map_run1.xdf/traces/40 a second name (hard link) of traces/3",
         edit=[3, -1])
def _(path):
    import h5py
    write(path, mapping())
    with h5py.File(path, "r+") as f:
        f["S07_map_run1.xdf/traces/40"] = f["S07_map_run1.xdf/traces/3"]


@variant("hardlink_cross_origin", "map_session plus an origin S07_map_run4.xdf whose traces 0..4 are hard links to run1's")
def _(path):
    import h5py
    origins = mapping()
    write(path, origins)
    with h5py.File(path, "r+") as f:
        g = f.create_group("S07_map_run4.xdf")
        for k, v in origins[2].attrs:
            g.attrs[k] = v if k != "filedate" else "2020-10-01 09:00:00"
        t = g.create_group("traces")
        for i in range(5):
            t[str(i)] = f[f"S07_map_run1.xdf/traces/{i}"]


def delete_and_readd(path, libver):
    import h5py
    write(path, mapping(), libver=libver, seed=7)
    gone = ["comment", "reject", "xyz_coords", "event_name", "examiner"]
    with h5py.File(path, "r+", libver=libver or "earliest") as f:
        for o in f:
            g = f[o]
            saved = {k: g.attrs[k] for k in ("global_comment", "filedate")}
            for k in saved:
                del g.attrs[k]
            g.attrs["tmp_origin_note"] = "t" * 300
            del g.attrs["tmp_origin_note"]
            for k, v in reversed(list(saved.items())):
                g.attrs[k] = v
            for name in g["traces"]:
                d = g["traces"][name]
                saved = {k: d.attrs[k] for k in gone}
                for k in gone:
                    del d.attrs[k]
                for j in range(3):
                    d.attrs[f"tmp_{j}"] = f"temporary value {j} " * (20 + j)
                for j in range(3):
                    del d.attrs[f"tmp_{j}"]
                for k in reversed(gone):
                    d.attrs[k] = saved[k]


@variant("attrs_deleted_readded_earliest", "map_session, on every trace 5 attributes deleted, 3 temporary ones added and deleted,"
         " the 5 re-added (free space in headers and the global heap), earliest format")
def _(path):
    delete_and_readd(path, None)


@variant("attrs_deleted_readded_latest", "as attrs_deleted_readded_earliest with libver='latest' (free space in dense storage)")
def _(path):
    delete_and_readd(path, "latest")


@variant("attrs_rewritten_many", "map_session, every attribute of every object rewritten 10 times by h5py (global heap growth),"
         " ending with the original values")
def _(path):
    import h5py
    write(path, mapping(), seed=10)
    with h5py.File(path, "r+") as f:
        objects = []
        f.visititems(lambda name, obj: objects.append(obj) if len(obj.attrs) else None)
        for obj in objects:
            original = dict(obj.attrs)
            for r in range(10):
                for k, v in original.items():
                    obj.attrs[k] = f"{v} (rewrite {r})" + "·" * (r * 7)
            for k, v in original.items():
                obj.attrs[k] = v


@variant("offspect_edited", "map_session (earliest format) edited as offspect edits: set_trace_attrs on 4 traces, h5py"
         " File(mode='r+', libver='latest', swmr=True) and attrs[k] = v for every key (origin included)")
def _(path):
    import offspect_reference as ref
    write(path, mapping(), seed=11)
    fname = os.path.abspath(path)
    for i, comment in zip((0, 7, 41, 119), ("checked", "double pulse", "", "noisy")):
        attrs = ref.get_trace_attrs(fname, i)
        attrs["comment"] = comment
        attrs["reject"] = "True" if comment else "False"
        attrs["onset_shift"] = str(i % 5)
        ref.set_trace_attrs(fname, i, attrs)


@variant("repack", "map_session.hdf5 (offspect's) through h5repack with no options")
def _(path):
    h5repack(os.path.join(FIXTURES, "map_session.hdf5"), path)


@variant("repack_L", "map_session.hdf5 through h5repack -L (latest format)")
def _(path):
    h5repack(os.path.join(FIXTURES, "map_session.hdf5"), path, "-L")


@variant("repack_gzip4", "map_session.hdf5 through h5repack -f GZIP=4")
def _(path):
    h5repack(os.path.join(FIXTURES, "map_session.hdf5"), path, "-f", "GZIP=4")


@variant("repack_shuf", "map_session.hdf5 through h5repack -f SHUF")
def _(path):
    h5repack(os.path.join(FIXTURES, "map_session.hdf5"), path, "-f", "SHUF")


@variant("repack_L_shuf_gzip", "erp_multichannel.hdf5 through h5repack -L -f SHUF -f GZIP=6")
def _(path):
    h5repack(os.path.join(FIXTURES, "erp_multichannel.hdf5"), path, "-L", "-f", "SHUF", "-f", "GZIP=6")


@variant("channels64", "erp_multichannel widened to 64 channels (E0..E63; 1500 x 64 per trace)")
def _(path):
    import numpy as np
    [o] = erp()
    labels = str([f"E{k}" for k in range(64)])
    o = with_origin_attrs(o, channel_labels=labels)
    for t in o.traces:
        t.data = np.concatenate([t.data * (1 + k / 10) for k in range(8)], axis=1)
    write(path, [o])


@variant("empty_origin", "template_R001 and R003 and, between them, template_R002_empty.xdf with no traces")
def _(path):
    [o2] = load("template_R002.hdf5")
    write(path, t13() + [Origin("template_R002_empty.xdf", o2.attrs, [])])


@variant("traces65600", "one origin of 65,600 traces (more than 65,536) of 10 x 1 samples, each with id, reject and comment")
def _(path):
    write_huge(path, 65_600)


EXTRA_SOURCES = {
    "_extra_map_run0.hdf5": lambda path: write(path, [renamed(mapping()[0], "S07_map_run0.xdf")]),
}

# ----------------------------------------------------------------------------- answers


def dump_json(path, value):
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(value, fh, ensure_ascii=False, allow_nan=False)


def source_path(outdir, source):
    """The file of a merge source: "variant:NAME" in outdir, "fixture:NAME" in test/fixtures/offspect."""
    kind, _, name = source.partition(":")
    if kind == "variant":
        return os.path.join(outdir, name)
    if kind == "fixture":
        return os.path.join(FIXTURES, name)
    raise ValueError(f"expected variant:NAME or fixture:NAME as a merge source, got {source!r}")


def reference_merge(outdir, name, sources, suffix):
    """offspect's merge of sources (fixed-length strings as text), reported as views.merge_report, or its error."""
    import offspect_reference as ref
    import views
    target = os.path.join(outdir, f"{name}.{suffix}.ref.hdf5")
    paths = [source_path(outdir, s) for s in sources]
    large = sum(len(ref_traces(p)) for p in paths) > LARGE
    try:
        ref.merge(target, paths, bytes_as_text=True, fast=large)
        out = {"sources": sources, "error": None, "report": views.merge_report(target, sample=large)}
    except Exception as e:  # offspect's merge fails: the test expects a clean refusal
        out = {"sources": sources, "error": f"{type(e).__name__}: {e}", "report": None}
    finally:
        if os.path.exists(target):
            os.unlink(target)
    dump_json(os.path.join(outdir, f"{name}.{suffix}.json"), out)


def ref_traces(fname):
    import offspect_reference as ref
    with ref.read_file(fname) as f:
        return ref.trace_index(f)


def make(outdir, name):
    """Writes the variant; returns its manifest entry."""
    started = time.time()
    description, build, options = VARIANTS[name]
    path = os.path.join(outdir, f"{name}.hdf5")
    build(path)
    n = len(ref_traces(path))
    return {
        "name": name,
        "description": description,
        "traces": n,
        "sample": n > LARGE,
        "edit": sorted({i % n for i in options.get("edit", [0, -1])}) if n else [],
        "merge_with": options.get("merge_with"),
        "seconds": round(time.time() - started, 2),
    }


def answer(outdir, entry, job):
    """One of a variant's answers: "views" (h5py's view and offspect's answers), "merge" or "merge2"."""
    import views
    name, started = entry["name"], time.time()
    path = os.path.join(outdir, f"{name}.hdf5")
    if job == "views":
        dump_json(os.path.join(outdir, f"{name}.h5py.json"), views.h5py_view(path, entry["sample"]))
        dump_json(os.path.join(outdir, f"{name}.offspect.json"), views.offspect_answers(path, entry["sample"]))
    elif job == "merge":
        reference_merge(outdir, name, [f"variant:{name}.hdf5"], "merge")
    else:
        reference_merge(outdir, name, [f"variant:{name}.hdf5"] + entry["merge_with"], "merge2")
    return round(time.time() - started, 2)


def main(argv):
    if argv[1:] == ["--list"]:
        listing = [{"name": n, "description": d, "merge_with": o.get("merge_with")} for n, (d, _, o) in VARIANTS.items()]
        sys.stdout.buffer.write(json.dumps(listing, ensure_ascii=False).encode("utf-8"))
        return
    outdir = argv[1]
    only = argv[3].split(",") if argv[2:3] == ["--only"] else None  # for working on the generator: some variants, no DONE
    os.makedirs(outdir, exist_ok=True)
    started = time.time()
    for name, build in EXTRA_SOURCES.items():
        build(os.path.join(outdir, name))
    # Two workers; the largest variant first, and each variant's answers (its merge first) as soon as it is written.
    names = sorted(only or VARIANTS, key=lambda n: n != "traces65600")
    done = {}
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        builds = {pool.submit(make, outdir, n): n for n in names}
        jobs = []
        for built in as_completed(builds):
            entry = built.result()
            done[entry["name"]] = entry
            for job in ["merge", "views"] + (["merge2"] if entry["merge_with"] else []):
                jobs.append((entry, job, pool.submit(answer, outdir, entry, job)))
        for entry, job, future in jobs:
            entry["seconds"] += future.result()
    for entry in done.values():
        entry["seconds"] = round(entry["seconds"], 2)
    manifest = {"variants": [done[n] for n in VARIANTS if n in done], "seconds": round(time.time() - started, 1)}
    dump_json(os.path.join(outdir, "manifest.json"), manifest)
    if only:
        return
    with open(os.path.join(outdir, "DONE"), "w") as fh:
        fh.write("done\n")


if __name__ == "__main__":
    main(sys.argv)
