#!/bin/sh
# Development set-up only: in a checkout of this repository, makes sure the
# system packages for building the addon from source and for the tests are
# present, installing them with apt-get when they are missing and we may
# (root on Debian/Ubuntu).
#   scripts/system-deps.sh build   libhdf5 and liblzf headers and a compiler (npm install)
#   scripts/system-deps.sh test    also h5py, numpy, scipy, PyYAML, MNE, h5dump, patchelf and chromium (npm test)
#   scripts/system-deps.sh pack    also patchelf (npm run prebuild, npm pack)
# Set OFFSPECT_SKIP_SYSTEM_DEPS=1 to skip (e.g. when you manage packages yourself).
#
# It does nothing, and never runs apt-get, unless it runs in a git checkout
# of this package and (when npm runs it) npm was started in that folder:
# never when the package is installed as a dependency (the published package
# does not even contain this script), nor when npm prepares it as a git
# dependency.
set -eu
[ "${OFFSPECT_SKIP_SYSTEM_DEPS:-}" = "1" ] && exit 0
what="${1:-build}"

here="$(pwd -P)"
[ -e "$here/.git" ] || exit 0                                  # not a checkout (an installed package)
if [ -n "${INIT_CWD:-}" ]; then                                 # run by npm (unset when run by hand)
  [ "$(cd "$INIT_CWD" 2>/dev/null && pwd -P)" = "$here" ] || exit 0   # npm started elsewhere: a dependency
fi
[ -z "${_PACOTE_NO_PREPARE_+set}" ] || exit 0                   # npm preparing a git dependency

missing=""
need() { missing="$missing $1"; }

pkg-config --exists hdf5 2>/dev/null || [ -f /usr/include/hdf5/serial/hdf5.h ] || need libhdf5-dev
pkg-config --exists liblzf 2>/dev/null || [ -f /usr/include/liblzf/lzf.h ] || need liblzf-dev
command -v pkg-config >/dev/null 2>&1 || need pkg-config
command -v g++ >/dev/null 2>&1 || need g++
command -v make >/dev/null 2>&1 || need make
command -v python3 >/dev/null 2>&1 || [ -x /usr/bin/python3 ] || need python3
if [ "$what" = "test" ] || [ "$what" = "pack" ]; then
  command -v patchelf >/dev/null 2>&1 || need patchelf
fi
if [ "$what" = "test" ]; then
  /usr/bin/python3 -c "import h5py" 2>/dev/null || need python3-h5py
  /usr/bin/python3 -c "import numpy" 2>/dev/null || need python3-numpy
  /usr/bin/python3 -c "import scipy" 2>/dev/null || need python3-scipy
  /usr/bin/python3 -c "import yaml" 2>/dev/null || need python3-yaml
  /usr/bin/python3 -c "import mne" 2>/dev/null || need python3-mne
  command -v h5dump >/dev/null 2>&1 || need hdf5-tools
  command -v chromium >/dev/null 2>&1 || need chromium
fi

[ -z "$missing" ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" != "none" ]; then
    echo "offspect-cachefile: installing system packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
    exit 0
  fi
fi
echo "offspect-cachefile: missing system packages:$missing" >&2
echo "  install them, e.g. on Debian/Ubuntu: sudo apt-get install -y$missing" >&2
exit 1
