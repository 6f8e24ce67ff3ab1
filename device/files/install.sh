#!/bin/sh
# Install this bundle with no network: a virtual environment in .venv from the wheels in wheels/.
#   sh install.sh                      # with the python3 on PATH
#   PYTHON=/usr/bin/python3.11 sh install.sh
# Every problem is one line on stderr and a non-zero exit; nothing half-installed stays as .venv.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bundle.env"  # BUNDLE_ARCH, BUNDLE_PYTHON, BUNDLE_NEEDS_MB
fail() { echo "install.sh: $*" >&2; exit 1; }

arch=$(uname -m)
[ "$arch" = "$BUNDLE_ARCH" ] || fail "this bundle is for $BUNDLE_ARCH, this device is $arch:" \
    "build one for it with 'make bundle TARGET=linux-$arch'"
python=${PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 || fail "no $python on this device: install Python $BUNDLE_PYTHON" \
    "(e.g. 'sudo apt-get install python3 python3-venv')"
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || fail "$python does not run"
[ "$version" = "$BUNDLE_PYTHON" ] || fail "this bundle's wheels need Python $BUNDLE_PYTHON; $python is" \
    "Python $version: run with PYTHON=python$BUNDLE_PYTHON, or build one with" \
    "'make bundle TARGET=linux-$arch PYTHON=$version'"
"$python" -c 'import venv, ensurepip' 2>/dev/null || fail "$python cannot make a virtual environment:" \
    "install python3-venv ('sudo apt-get install python3-venv')"
free_mb=$(df -Pm "$here" | awk 'NR == 2 { print $4 }')
[ "$free_mb" -ge "$BUNDLE_NEEDS_MB" ] || fail "$here has $free_mb MB free; the install needs $BUNDLE_NEEDS_MB MB"

cd "$here" || exit 1
while read -r sum file; do
    [ -f "wheels/$file" ] || fail "wheels/$file is missing: copy the whole archive again"
    [ "$(sha256sum "wheels/$file" | cut -d' ' -f1)" = "$sum" ] || \
        fail "wheels/$file is corrupt (its sha256 differs from wheels/SHA256SUMS): copy the archive again"
done < wheels/SHA256SUMS

partial=.venv.partial
rm -rf "$partial"
trap 'rm -rf "$here/$partial"' EXIT
# Only the wheels here: no pip configuration of this machine (an index, a proxy, constraints) applies.
unset $(env | sed -n 's/^\(PIP_[A-Z0-9_]*\)=.*/\1/p')
export PIP_CONFIG_FILE=/dev/null
"$python" -m venv "$partial" || fail "$python -m venv failed"
log=$("$partial/bin/python" -m pip install --no-index --find-links wheels --disable-pip-version-check \
      --no-cache-dir --quiet -r requirements.txt 2>&1) || fail "pip could not install the wheels:" \
      "$(printf '%s\n' "$log" | grep -m1 ERROR || printf '%s\n' "$log" | tail -n1)"
rm -rf .venv && mv "$partial" .venv || fail "cannot move $partial to .venv"
trap - EXIT
echo "installed in $here/.venv ($(du -sm .venv | cut -f1) MB); try: $here/bin/fmnist-edge doctor"
