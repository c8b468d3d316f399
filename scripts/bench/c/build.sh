#!/bin/sh
# Builds the plain-C baselines (iterate, merge) into scripts/bench/out/bin/.
#   sh scripts/bench/c/build.sh
# Needs gcc and libhdf5's headers (Debian: libhdf5-dev, pkg-config).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$(cd "$here/.." && pwd)/out/bin"
mkdir -p "$out"

if flags=$(pkg-config --cflags --libs hdf5 2>/dev/null) && [ -n "$flags" ]; then
  :
else
  flags="-I/usr/include/hdf5/serial -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5"
fi

for prog in iterate merge; do
  # shellcheck disable=SC2086 # $flags is a list of words
  gcc -O2 -std=c11 -Wall -Wextra -o "$out/$prog" "$here/$prog.c" $flags
done
echo "built $out/iterate $out/merge" >&2
