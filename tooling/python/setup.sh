#!/usr/bin/env bash
# Creates (idempotently) the Python virtualenv used by the Celery interop tests and installs the
# exact pins of tooling/python/requirements.txt into it. Prints the venv's python path as the last
# line of stdout; everything else goes to stderr.
#
#   bash tooling/python/setup.sh            # -> <repo>/.conveyor/python-venv/bin/python
#
# Env:
#   CONVEYOR_PYTHON       interpreter used to create the venv (default: python3; needs >= 3.9)
#   CONVEYOR_PYTHON_VENV  venv directory (default: <repo>/.conveyor/python-venv)
#
# A warm run does no network work: if the venv (what `pip freeze` lists) already has every pin,
# pip is not run.
# Concurrent runs (parallel test packages) are serialized with flock.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
REQS="$HERE/requirements.txt"
VENV="${CONVEYOR_PYTHON_VENV:-$ROOT/.conveyor/python-venv}"
BASE_PY="${CONVEYOR_PYTHON:-python3}"
PY="$VENV/bin/python"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1

mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9

log() { echo "python-setup: $*" >&2; }

# "name==version" lines of the requirements, names normalized (PEP 503), extras dropped.
wanted() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' "$REQS" | grep '==' |
    sed -E 's/\[[^]]*\]//' | awk -F'==' '{ n=tolower($1); gsub(/[-_.]+/, "-", n); print n "==" $2 }' |
    sort -u
}
# What `pip freeze --all` would list, read with importlib.metadata (pip itself takes ~0.4 s to import).
installed() {
  "$PY" -c 'import importlib.metadata as m
for d in m.distributions(): print(d.metadata["Name"] + "==" + d.version)' 2>/dev/null | grep '==' |
    awk -F'==' '{ n=tolower($1); gsub(/[-_.]+/, "-", n); print n "==" $2 }' |
    grep -Ev '^(pip|setuptools|wheel)==' | sort -u
}

if [ -x "$PY" ] && ! "$PY" -c 'import sys' 2>/dev/null; then
  log "venv at $VENV is broken (interpreter gone?); recreating"
  rm -rf "$VENV"
fi
if [ ! -x "$PY" ]; then
  "$BASE_PY" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' ||
    { log "$BASE_PY is older than 3.9"; exit 1; }
  log "creating venv at $VENV with $("$BASE_PY" --version 2>&1)"
  "$BASE_PY" -m venv "$VENV"
fi

# Pins that are not installed at exactly that version.
missing() { comm -23 <(wanted) <(installed); }

if [ -z "$(missing)" ]; then
  log "pins already installed ($(wanted | wc -l) packages); nothing to do"
else
  log "installing pins from $REQS"
  "$PY" -m pip install --quiet -r "$REQS" >&2
  if [ -n "$(missing)" ]; then
    log "after pip install these pins are still not satisfied:"
    missing >&2
    exit 1
  fi
fi
extra="$(comm -13 <(wanted) <(installed))"
if [ -n "$extra" ]; then
  log "note: packages not in requirements.txt are installed:" $extra
  log "requirements.txt should be the complete 'pip freeze' of a clean venv"
fi

echo "$PY"
