"""pyxdf's load_xdf (default options) on one XDF file, as JSON for the tests.

Usage: /usr/bin/python3 pyxdf_load.py FILE.xdf

Prints {"streams": [...], "warnings": [...]}: per stream its id, name,
nominal rate, format, every time stamp (float repr, exact), the effective
rate, segments and clock segments, and for string streams and streams without
a nominal rate the first channel's values; "warnings" are pyxdf's logged
warnings. Uses the pyxdf source beside this file (test/reference/pyxdf,
BSD-2-Clause), with Debian's numpy.
"""
import json
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyxdf", "src", "pyxdf"))
import pyxdf  # noqa: E402  (the module pyxdf.py itself, without the package's generated __version__)

warnings = []


class Collect(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            warnings.append(record.getMessage())


pyxdf.logger.addHandler(Collect())
pyxdf.logger.propagate = False
streams, header = pyxdf.load_xdf(sys.argv[1])
out = []
for s in streams:
    info = s["info"]
    srate = float(info["nominal_srate"][0])
    fmt = info["channel_format"][0]
    entry = {
        "id": int(info["stream_id"]),
        "name": info["name"][0],
        "srate": srate,
        "format": fmt,
        "time_stamps": [float(t) for t in s["time_stamps"]],
        "effective_srate": float(info["effective_srate"]),
        "segments": [list(x) for x in info["segments"]],
        "clock_segments": [list(x) for x in info["clock_segments"]],
    }
    if fmt == "string" or srate == 0:
        entry["values"] = [str(v[0]) for v in s["time_series"]]
    out.append(entry)
print(json.dumps({"streams": out, "warnings": warnings}))
