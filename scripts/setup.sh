#!/usr/bin/env bash
# One-time (idempotent) set-up for `make demo` and `make test` on Debian/Ubuntu:
# OS packages when missing (PostgreSQL server, PostGIS and pgRouting for its major version,
# GDAL tools, Chromium and CJK fonts for the browser tests, PgBouncer and nginx for the
# deployment tests), a virtualenv in .venv and the
# package with its dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing $* and no apt-get here: install them with your package manager" >&2
    exit 1
  fi
  if [ "$apt_updated" -eq 0 ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  echo "setup: installing $*"
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
  apt_install postgresql postgresql-contrib
fi
PG_MAJOR=$(basename "$(dirname "$(pg_bin)")")
PG_SHARE=$("$(pg_bin)/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$PG_MAJOR")
missing=()
[ -f "$PG_SHARE/extension/postgis.control" ] || missing+=("postgresql-$PG_MAJOR-postgis-3")
[ -f "$PG_SHARE/extension/pgrouting.control" ] || missing+=("postgresql-$PG_MAJOR-pgrouting")
command -v ogr2ogr >/dev/null 2>&1 || missing+=(gdal-bin)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
# A real headless browser for the web-map tests (Playwright drives Debian's Chromium).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
# The read path beyond one machine, started by the tests: a connection pooler and a caching proxy.
[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
# poppler's pdftoppm rasterises printed map sheets in the print tests.
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
# QGIS's own style converter, for the check that QGIS keeps the styles' colours (Debian's Python).
/usr/bin/python3 -c 'import qgis.core' 2>/dev/null || missing+=(python3-qgis)
if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  missing+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip' 2>/dev/null; then
  missing+=(python3-venv)
fi
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

# Python environment: reinstalled only when pyproject.toml changes.
stamp=.venv/.digitalcity-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # uv installs the same packages as pip in 8 s instead of 52 (measured from an empty venv),
  # which every CI run and first `make demo` pays; pip stays the way when uv cannot be had
  if .venv/bin/python -m pip install -q uv 2>/dev/null; then
    .venv/bin/python -m uv pip install -q --python .venv/bin/python -e ".[dev]"
  else
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[dev]"
  fi
  echo "$want" > "$stamp"
fi
echo "setup: ready (PostgreSQL $PG_MAJOR with PostGIS, Python venv in .venv)"
