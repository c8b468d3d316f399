"""What offspect's own code reads from a reviewed CacheFile: every trace's
attributes through offspect's CacheFile.get_trace_attrs (restated in
test/helpers/offspect_reference.py, over h5py), each value as stored and as
offspect's decode (yaml.load) reads it.

Usage: offspect_read.py FILE   (prints JSON: {"traces": [{"text": {...}, "decoded": {...}}, ...]})
"""
import datetime
import json
import math
import os
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
import offspect_reference as ref  # noqa: E402


def plain(v):
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, (datetime.date, datetime.datetime)):
        return str(v)
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def main(fname):
    out = []
    for idx in range(ref.length(fname)):
        attrs = ref.get_trace_attrs(fname, idx)
        text = {k: v for k, v in attrs.items() if k not in ("origin", "cache_file", "cache_file_index")}
        decoded = {}
        for k, v in text.items():
            try:
                decoded[k] = plain(yaml.load(v, Loader=yaml.Loader))
            except yaml.YAMLError:
                decoded[k] = v
        out.append({"text": text, "decoded": decoded})
    print(json.dumps({"traces": out}))


if __name__ == "__main__":
    main(sys.argv[1])
