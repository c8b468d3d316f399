"""Reads random traces' attributes with h5py (swmr=True) until SECONDS pass; retries while a writer holds the lock."""
import json, random, re, sys, time
import h5py

path, seconds = sys.argv[1], float(sys.argv[2])
with h5py.File(path, "r", libver="latest", swmr=True) as f:
    names = [f"{o}/traces/{k}" for o in f for k in sorted(f[o]["traces"], key=int)]
    original = {p: (f[p].attrs["comment"], f[p].attrs["stimulation_intensity_mso"]) for p in names}
n = len(names)
reads = retries = seen = 0
deadline = time.time() + seconds
while time.time() < deadline:
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            for _ in range(5):
                i = random.randrange(n)
                d = f[names[i]]
                d.id.refresh()
                c, s = d.attrs["comment"], d.attrs["stimulation_intensity_mso"]
                m = re.fullmatch(r"update (\d+)", c)
                if m:
                    u = int(m.group(1))
                    if u % n != i or s != str(u):
                        print(json.dumps({"torn": [i, c, s]})); sys.exit(3)
                    seen += 1
                elif (c, s) != original[names[i]]:
                    print(json.dumps({"unknown": [i, c, s]})); sys.exit(3)
                reads += 1
    except OSError as e:
        if "lock" not in str(e).lower():
            raise
        retries += 1
    time.sleep(0.001 + random.random() * 0.004)
print(json.dumps({"reads": reads, "updatesSeen": seen, "retries": retries}))
