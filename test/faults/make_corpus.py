#!/usr/bin/python3
"""Builds the corpus of malformed inputs in test/faults/corpus/, deterministically.

    /usr/bin/python3 test/faults/make_corpus.py

Every case derives from test/fixtures/offspect/template_R001.hdf5 (offspect's
own output: superblock v0, symbol-table groups, v1 object headers, attribute
strings in one global heap collection). Targeted flips hit the structures
found in it (offsets printed by `h5debug FILE ADDR`); layout cases are made
with h5py from a copy of it. cases.json lists, for every file, what each
operation of test/faults/probe.mts must give: "ok", or "ErrorClass/CODE",
or "ErrorClass/CODE:REASON" for a LayoutError's reason.
Needs Debian's python3 with h5py and numpy (the python3 on PATH may lack them).
"""
import json
import os
import random
import shutil
import struct
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "offspect")
OUT = os.path.join(HERE, "corpus")
BASE = os.path.join(FIXTURES, "template_R001.hdf5")
PARTNER = "test/fixtures/offspect/template_R003.hdf5"
OPS = ["open", "iterate", "peek", "validate", "async", "merge"]

NOT_HDF5 = "NotHdf5Error/ENOTHDF5"
TRUNCATED = "TruncatedFileError/ETRUNCATED"
CORRUPT = "CorruptFileError/ECORRUPT"


def layout(reason):
    return "LayoutError/ELAYOUT:" + reason


cases = []


def expect(all_ops="ok", **per_op):
    out = {op: all_ops for op in OPS}
    out.update(per_op)
    return out


def add(name, data, why, expected):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data)
    cases.append({"file": name, "why": why, "expect": expected})


def base_bytes():
    with open(BASE, "rb") as f:
        return bytearray(f.read())


def flipped(offset, mask=0xFF, data=None):
    b = bytearray(data if data is not None else base_bytes())
    b[offset] ^= mask
    return bytes(b)


def put(offset, raw, data=None):
    b = bytearray(data if data is not None else base_bytes())
    b[offset:offset + len(raw)] = raw
    return bytes(b)


def find_all(b, needle):
    out, at = [], b.find(needle)
    while at >= 0:
        out.append(at)
        at = b.find(needle, at + 1)
    return out


def structures():
    """Offsets of the structures in the base file, checked against its bytes."""
    b = bytes(base_bytes())
    s = {
        "TREE": find_all(b, b"TREE"),
        "SNOD": find_all(b, b"SNOD"),
        "HEAP": find_all(b, b"HEAP"),
        "GCOL": find_all(b, b"GCOL"),
    }
    with h5py.File(BASE, "r") as f:
        s["root_ohdr"] = h5py.h5o.get_info(f["/"].id).addr
        s["origin_ohdr"] = h5py.h5o.get_info(f["template_R001.xdf"].id).addr
        s["traces_ohdr"] = h5py.h5o.get_info(f["template_R001.xdf/traces"].id).addr
        d = f["template_R001.xdf/traces/0"]
        s["trace0_ohdr"] = h5py.h5o.get_info(d.id).addr
        s["trace0_data"] = d.id.get_offset()
        s["trace0_size"] = d.id.get_storage_size()
    return s


def h5py_variant(name, why, expected, edit):
    """A copy of the base file changed with h5py (r+), as another writer would."""
    path = os.path.join(OUT, name)
    shutil.copyfile(BASE, path)
    with h5py.File(path, "r+") as f:
        edit(f)
    cases.append({"file": name, "why": why, "expect": expected})


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    rng = random.Random(20251124)
    st = structures()
    b = bytes(base_bytes())
    size = len(b)
    origin, trace0 = "template_R001.xdf", "template_R001.xdf/traces/0"

    # -- not HDF5 at all ---------------------------------------------------------
    add("not_hdf5_empty.hdf5", b"", "a zero-length file", expect(NOT_HDF5))
    add("not_hdf5_text.hdf5", b"subject,channel,latency\nS01,EDC_L,21.3\n", "a text file named .hdf5", expect(NOT_HDF5))
    add("not_hdf5_random.hdf5", bytes(rng.randrange(256) for _ in range(2048)), "2 KiB of random bytes", expect(NOT_HDF5))
    add("not_hdf5_signature_flipped.hdf5", flipped(1, 0x01), "the superblock signature with one bit flipped", expect(NOT_HDF5))
    d = os.path.join(OUT, "not_hdf5_directory.hdf5")
    os.makedirs(d)
    with open(os.path.join(d, "README"), "w") as f:
        f.write("A directory named like a CacheFile: every operation must refuse it as not an HDF5 file.\n")
    cases.append({"file": "not_hdf5_directory.hdf5", "why": "a directory named .hdf5", "expect": expect(NOT_HDF5)})

    # -- truncated at many offsets -------------------------------------------------
    cuts = [8, 40, 95, 96, 137, 700, 1500, 2100, 4000, 6200, 8000, st["trace0_data"] + 8, 10200, 12000, 15000, 17000, size - 1]
    for cut in cuts:
        add(f"truncated_at_{cut:05d}.hdf5", b[:cut], f"the first {cut} of {size} bytes", expect(TRUNCATED))

    # -- the superblock --------------------------------------------------------------
    add("superblock_version_bad.hdf5", put(8, b"\x07"), "superblock version 7", expect(CORRUPT))
    add("superblock_offset_size_bad.hdf5", put(13, b"\x03"), "size of offsets 3 (not 2, 4 or 8)", expect(CORRUPT))
    add("superblock_leaf_k_zero.hdf5", put(16, b"\x00\x00"), "symbol table leaf node 1/2 rank 0", expect(CORRUPT))
    add("superblock_eof_too_large.hdf5", put(40, struct.pack("<Q", size * 4)), "stored end of file 4x the real size", expect(TRUNCATED))
    add("superblock_root_address_bad.hdf5", put(64, struct.pack("<Q", 9000)), "root group object header address points into raw data", expect(CORRUPT))
    add("superblock_root_address_huge.hdf5", put(64, struct.pack("<Q", 2**62)), "root group object header address far past the end", expect(CORRUPT))

    # -- object headers (version 1, no checksums) -----------------------------------------
    add("ohdr_root_version_bad.hdf5", put(st["root_ohdr"], b"\x09"), "root object header version 9", expect(CORRUPT))
    add("ohdr_origin_version_bad.hdf5", put(st["origin_ohdr"], b"\x09"), "origin group object header version 9", expect(CORRUPT))
    add("ohdr_trace_garbage.hdf5", put(st["trace0_ohdr"] + 16, b"\xff" * 24), "the first message of trace 0's object header overwritten", expect(CORRUPT, open="ok", peek="ok"))
    add("ok_ohdr_trace_nmesgs_huge.hdf5", put(st["trace0_ohdr"] + 2, b"\xff\xff"), "trace 0's object header claims 65535 messages: libhdf5 counts the messages it finds", expect("ok"))

    # -- B-tree nodes ("TREE"), symbol nodes ("SNOD"), local heaps ("HEAP") ---------------------
    t0, t1 = st["TREE"][0], st["TREE"][1]
    add("btree_root_signature.hdf5", flipped(t0, 0x20), "root group B-tree signature 'tREE'", expect(CORRUPT))
    add("btree_origin_signature.hdf5", flipped(t1 + 1, 0x01), "origin group B-tree signature damaged", expect(CORRUPT))
    add("btree_node_type_bad.hdf5", put(t0 + 4, b"\x05"), "root B-tree node type 5", expect(CORRUPT))
    add("btree_entries_huge.hdf5", put(t0 + 6, b"\xff\xff"), "root B-tree node claims 65535 entries", expect(CORRUPT))
    add("btree_child_address_bad.hdf5", put(t0 + 24 + 8, struct.pack("<Q", 12345)), "root B-tree child pointer into raw data", expect(CORRUPT))
    s0, s1 = st["SNOD"][0], st["SNOD"][-1]
    add("snod_signature.hdf5", flipped(s0, 0x01), "root symbol node signature damaged", expect(CORRUPT))
    add("snod_count_huge.hdf5", put(s0 + 6, b"\xff\xff"), "root symbol node claims 65535 symbols", expect(CORRUPT))
    add("snod_traces_object_address_bad.hdf5", put(s1 + 8 + 8, struct.pack("<Q", 3)), "trace 0's object header address set to 3", expect(CORRUPT, open="ok", peek="ok"))
    h0 = st["HEAP"][0]
    add("heap_signature.hdf5", flipped(h0 + 2, 0x02), "root local heap signature damaged", expect(CORRUPT))
    add("heap_data_size_huge.hdf5", put(h0 + 8, struct.pack("<Q", 2**40)), "root local heap data segment of 1 TiB", expect(CORRUPT))
    add("heap_data_address_bad.hdf5", put(h0 + 24, struct.pack("<Q", size + 4096)), "root local heap data past the end of the file", expect(CORRUPT))
    add("heap_name_offset_bad.hdf5", put(s0 + 8, struct.pack("<Q", 5000)), "a link name offset outside its local heap", expect(CORRUPT))

    # -- the global heap collection ("GCOL") holding every attribute string ------------------
    g = st["GCOL"][0]
    attr_ops = expect(CORRUPT, open="ok")  # open lists groups only; every other operation reads strings
    add("gcol_signature.hdf5", flipped(g, 0x01), "global heap collection signature damaged", attr_ops)
    add("gcol_version_bad.hdf5", put(g + 4, b"\x02"), "global heap collection version 2", attr_ops)
    add("gcol_size_huge.hdf5", flipped(g + 9, 0x40), "collection size 20 KiB, past the end (libhdf5 loops forever on it)", attr_ops)
    add("gcol_size_tiny.hdf5", put(g + 8, struct.pack("<Q", 64)), "collection size 64 bytes", attr_ops)
    # Object headers inside the collection: index u16, refs u16, reserved u32, size u64.
    add("gcol_object_size_huge.hdf5", put(g + 16 + 8, struct.pack("<Q", 2**31)), "first heap object claims 2 GiB (libhdf5 copies it)", attr_ops)
    add("gcol_object_zero_free_space.hdf5", put(g + 16, struct.pack("<HHIQ", 0, 0, 0, 0)), "a free-space object of size 0 (libhdf5 loops forever)", attr_ops)
    # The heap ID stored in the 'readout' attribute ("cmep", object 8): length, collection address, index.
    hid = struct.pack("<IQI", 4, g, 8)
    at = b.find(hid)
    assert at > 0, "heap ID of 'readout' not found"
    # Only the origin's own 'readout' (each trace holds its own copy): peek and merge read it.
    origin_ops = expect("ok", peek=CORRUPT, merge=CORRUPT)
    add("attr_heap_index_missing.hdf5", put(at + 12, struct.pack("<I", 999)), "the origin's 'readout' refers to heap object 999, which does not exist", origin_ops)
    add("attr_heap_length_large.hdf5", put(at, struct.pack("<I", 100000)), "the origin's 'readout' claims 100000 characters, its heap object holds 4", origin_ops)
    add("attr_heap_address_bad.hdf5", put(at + 4, struct.pack("<Q", 9000)), "the origin's 'readout' points at a heap collection inside raw data", origin_ops)

    # -- harmless: raw data and unused space carry no checksums; values differ, nothing fails ---
    add("ok_raw_data_flipped.hdf5", flipped(st["trace0_data"] + 123, 0x10), "a bit of trace 0's samples flipped: read as a different number", expect("ok"))
    add("ok_gcol_free_space_flipped.hdf5", flipped(g + 4096 - 100, 0xFF), "a byte in the heap collection's free space", expect("ok"))
    # The contiguous layout message of trace 0: its data address, then its stored size.
    lay = b.find(struct.pack("<QQ", st["trace0_data"], st["trace0_size"]))
    assert lay > 0, "layout message of trace 0 not found"
    add("ok_layout_stored_size_zero.hdf5", put(lay + 8, struct.pack("<Q", 0)), "trace 0's stored data size 0: libhdf5 reads the bytes its shape needs", expect("ok"))
    add("ok_layout_stored_size_huge.hdf5", put(lay + 8, struct.pack("<Q", 2**34 + st["trace0_size"])), "trace 0's stored data size 16 GiB larger: libhdf5 reads the bytes its shape needs", expect("ok"))
    add("layout_data_address_past_end.hdf5", put(lay, struct.pack("<Q", size - 100)), "trace 0's samples start 100 bytes before the end of the file", expect(CORRUPT, open="ok", peek="ok", validate="ok"))
    add("ok_ohdr_trace_nmesgs_few.hdf5", put(st["trace0_ohdr"] + 2, b"\x02\x00"), "trace 0's object header claims 2 messages: libhdf5 reads the messages it finds", expect("ok"))
    add("ok_superblock_base_address_moved.hdf5", put(40, struct.pack("<Q", size + 16), put(24, struct.pack("<Q", 16))), "base address 16 for a superblock at 0, end of file 16 bytes further: libhdf5 takes the superblock's position as the base and moves the end of file by the difference", expect("ok"))

    # -- valid HDF5 of another layout, or holding what a CacheFile cannot ---------------------
    def root_dataset(f):
        f.create_dataset("data", data=np.arange(6.0))
    h5py_variant("layout_root_dataset.hdf5", "a dataset beside the origin groups at the root", expect(layout("ENOTORIGIN")), root_dataset)

    def no_traces(f):
        del f[origin]["traces"]
    h5py_variant("layout_no_traces.hdf5", "an origin group without 'traces'", expect(layout("ENOTRACES")), no_traces)

    def trace_is_group(f):
        f[origin]["traces"].create_group("7")
    h5py_variant("layout_trace_is_group.hdf5", "a group among the trace datasets", expect(layout("ENOTDATASET"), open="ok", peek="ok"), trace_is_group)

    def trace_name(f):
        f[origin]["traces"].create_dataset("first", data=np.zeros((4, 1)))
    h5py_variant("layout_trace_not_integer.hdf5", "a trace dataset named 'first'", expect(layout("ETRACENAME")), trace_name)

    def other_file(f):
        for k in list(f.keys()):
            del f[k]
        f.create_dataset("images", data=np.zeros((4, 4), dtype="u1"))
        f.create_group("meta").attrs["owner"] = "someone else"
    h5py_variant("layout_other_hdf5_file.hdf5", "an unrelated HDF5 file (images and metadata)", expect(layout("ENOTORIGIN")), other_file)

    def replace_trace(f, make):
        old = f[trace0]
        attrs = {k: old.attrs[k] for k in old.attrs}
        del f[trace0]
        new = make(f)
        for k, v in attrs.items():
            new.attrs[k] = v

    data_ops = dict(iterate=None, async_=None)
    del data_ops

    def strings(f):
        replace_trace(f, lambda f: f.create_dataset(trace0, data=np.array(["a", "bc"], dtype=h5py.string_dtype())))
    e = expect("ok", iterate=layout("EDTYPE"), **{"async": layout("EDTYPE")}, merge=layout("EDTYPE"))
    h5py_variant("data_strings.hdf5", "trace 0 holds strings", e, strings)

    def rank3(f):
        replace_trace(f, lambda f: f.create_dataset(trace0, data=np.zeros((4, 3, 2))))
    e = expect("ok", iterate=layout("ERANK"), **{"async": layout("ERANK")}, merge=layout("ERANK"))
    h5py_variant("data_3d.hdf5", "trace 0 is 4 x 3 x 2 (merge copies it; reading the result refuses it)", e, rank3)

    def huge(f):
        replace_trace(f, lambda f: f.create_dataset(trace0, shape=(2**40, 1), dtype="f8"))
    e = expect("ok", iterate=layout("ETOOBIG"), **{"async": layout("ETOOBIG")}, merge=layout("ETOOBIG"))
    h5py_variant("data_huge_dims.hdf5", "trace 0 declares 2^40 x 1 samples (never written)", e, huge)

    def huge_chunked(f):
        replace_trace(f, lambda f: f.create_dataset(trace0, shape=(2**31, 2**31), dtype="f8", chunks=(16, 16)))
    h5py_variant("data_huge_dims_chunked.hdf5", "trace 0 declares 2^31 x 2^31 samples, chunked", e, huge_chunked)

    def many_chunks(f):
        replace_trace(f, lambda f: f.create_dataset(trace0, data=np.arange(200.0).reshape(200, 1), chunks=(1, 1)))
    h5py_variant("data_chunk_btree_cycle.hdf5", "trace 0's chunk B-tree leads a lookup back to its root", expect("ok", iterate=CORRUPT, **{"async": CORRUPT}, merge=CORRUPT), many_chunks)
    path = os.path.join(OUT, "data_chunk_btree_cycle.hdf5")
    with open(path, "rb") as fh:
        raw = bytearray(fh.read())
    roots = [a for a in find_all(raw, b"TREE") if raw[a + 4] == 1 and raw[a + 5] == 1]
    assert len(roots) == 1, roots
    root = roots[0]
    key = 8 + 8 * 3  # chunk size, filter mask, three offsets (rank 2 and the element)
    child1 = root + 24 + key + 8 + key
    raw[child1:child1 + 8] = struct.pack("<Q", root)
    with open(path, "wb") as fh:
        fh.write(raw)

    def attr_array(f):
        f[trace0].attrs["comment"] = np.array(["one", "two"], dtype=h5py.string_dtype())
    e = expect("ok", iterate=layout("EATTRSHAPE"), validate=layout("EATTRSHAPE"), **{"async": layout("EATTRSHAPE")}, merge=layout("EATTRSHAPE"))
    h5py_variant("attr_array_of_strings.hdf5", "trace 0's 'comment' is an array of two strings", e, attr_array)

    def attr_number(f):
        f[trace0].attrs["reject"] = np.int64(0)
    e = expect("ok", iterate=layout("EATTRTYPE"), validate=layout("EATTRTYPE"), **{"async": layout("EATTRTYPE")}, merge=layout("EATTRTYPE"))
    h5py_variant("attr_number.hdf5", "trace 0's 'reject' is the integer 0", e, attr_number)

    def attr_float_array(f):
        f[trace0].attrs["xyz_coords"] = np.array([37.0, 52.9, 21.2])
    h5py_variant("attr_array_of_numbers.hdf5", "trace 0's 'xyz_coords' is an array of three floats", e, attr_float_array)

    def origin_number(f):
        f[origin].attrs["samplingrate"] = np.int32(1000)
    e = expect("ok", peek=layout("EATTRTYPE"), merge=layout("EATTRTYPE"))
    h5py_variant("attr_origin_number.hdf5", "the origin's 'samplingrate' is the integer 1000", e, origin_number)

    def non_utf8_value(f):
        tid = h5py.h5t.C_S1.copy()
        tid.set_size(h5py.h5t.VARIABLE)
        tid.set_cset(h5py.h5t.CSET_UTF8)
        f[trace0].attrs.create("comment", np.array(b"caf\xe9 \xff", dtype=h5py.string_dtype("utf-8")))
    e = expect("ok", iterate=layout("EATTRUTF8"), validate=layout("EATTRUTF8"), **{"async": layout("EATTRUTF8")}, merge=layout("EATTRUTF8"))
    h5py_variant("attr_value_not_utf8.hdf5", "trace 0's 'comment' holds the bytes 'caf\\xe9 \\xff' marked UTF-8", e, non_utf8_value)

    def non_utf8_fixed(f):
        f[trace0].attrs.create("examiner", np.bytes_(b"M\xfcller"))
    h5py_variant("attr_value_not_utf8_fixed.hdf5", "trace 0's 'examiner' is a fixed-length string of Latin-1 bytes", e, non_utf8_fixed)

    def non_utf8_name(f):
        aid = h5py.h5a.create(f[trace0].id, b"bad\xffname", h5py.h5t.C_S1.copy(), h5py.h5s.create(h5py.h5s.SCALAR))
        aid.write(np.array(b"x", dtype="S1"))
    h5py_variant("attr_name_not_utf8.hdf5", "trace 0 has an attribute whose name is not UTF-8", e, non_utf8_name)

    # -- good variants: other storage a reader must accept (also fuzz bases) --------------------
    def copy_latest(path, **dataset_kw):
        with h5py.File(BASE, "r") as src, h5py.File(path, "w", libver="latest") as dst:
            def visit(name, obj):
                if isinstance(obj, h5py.Group):
                    g2 = dst.create_group(name)
                else:
                    g2 = dst.create_dataset(name, data=obj[()], **dataset_kw)
                for k in obj.attrs:
                    g2.attrs[k] = obj.attrs[k]
            src.visititems(visit)
    path = os.path.join(OUT, "ok_latest_format.hdf5")
    copy_latest(path)
    cases.append({"file": "ok_latest_format.hdf5", "why": "the template rewritten with libver='latest': v2 superblock, OHDR with checksums, dense attributes in fractal heaps and v2 B-trees", "expect": expect("ok")})
    path = os.path.join(OUT, "ok_chunked_gzip.hdf5")
    with h5py.File(BASE, "r") as src, h5py.File(path, "w") as dst:
        for name in ["template_R001.xdf"]:
            src.copy(name, dst)
        for k in list(dst[origin]["traces"].keys()):
            ds = dst[origin]["traces"][k]
            data, attrs = ds[()], dict(ds.attrs)
            del dst[origin]["traces"][k]
            nd = dst[origin]["traces"].create_dataset(k, data=data.astype("f4"), chunks=(50, 1), compression="gzip")
            for a, v in attrs.items():
                nd.attrs[a] = v
    cases.append({"file": "ok_chunked_gzip.hdf5", "why": "traces stored float32, chunked and gzip-compressed", "expect": expect("ok")})

    # -- damage in the newer structures (checksummed) --------------------------------------------
    latest = open(os.path.join(OUT, "ok_latest_format.hdf5"), "rb").read()
    oh = find_all(latest, b"OHDR")
    add("latest_ohdr_checksum.hdf5", flipped(oh[-1] + 20, 0x01, latest), "a bit in a v2 object header (checksum mismatch)", expect(CORRUPT, open="ok", peek="ok"))
    fh = find_all(latest, b"FHDB")
    if fh:
        add("latest_fractal_heap_block.hdf5", flipped(fh[-1] + 30, 0x04, latest), "a bit in the fractal heap direct block holding the origin's attributes", expect("ok", peek=CORRUPT, merge=CORRUPT))
    bt = find_all(latest, b"BTHD")
    if bt:
        add("latest_btree2_header.hdf5", flipped(bt[-1] + 6, 0x01, latest), "a bit in a v2 B-tree header (checksum mismatch)", expect(CORRUPT, open="ok", peek="ok"))

    cases.sort(key=lambda c: c["file"])
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({
            "about": "Malformed inputs made by test/faults/make_corpus.py from test/fixtures/offspect/template_R001.hdf5; "
                     "each operation of test/faults/probe.mts must give the expected outcome: ok, ErrorClass/CODE or ErrorClass/CODE:REASON. "
                     "merge merges the file with the partner.",
            "partner": PARTNER,
            "operations": OPS,
            "cases": cases,
        }, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, c["file"])) for c in cases if os.path.isfile(os.path.join(OUT, c["file"])))
    print(f"{len(cases)} cases, {total} bytes in {OUT}")


if __name__ == "__main__":
    sys.exit(main())
