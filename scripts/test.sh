#!/usr/bin/env bash
# make test: the same prerequisites as the demo, then go vet and every test. Each test
# package creates and drops a database of its own on this server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# Real clients the tests drive: GDAL's ogr2ogr/ogrinfo, QGIS (its Python bindings, run
# offscreen) and headless Chromium.
missing=""
command -v ogr2ogr >/dev/null || missing="$missing gdal-bin"
command -v chromium >/dev/null || missing="$missing chromium"
/usr/bin/python3 -c "import qgis.core" 2>/dev/null || missing="$missing python3-qgis qgis-providers"
command -v npm >/dev/null || missing="$missing npm"
if [ -n "$missing" ]; then
  echo "installing$missing" >&2
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq >&2 && $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
fi
# The MapLibre style validator and playwright-core (which drives Debian's chromium; it
# downloads no browser), pinned by their lockfiles.
npm ci --prefix styles/testdata --no-audit --no-fund --loglevel=error >&2
npm ci --prefix web/testdata --no-audit --no-fund --loglevel=error >&2
export HUB_TEST_DATABASE_URL=${HUB_TEST_DATABASE_URL:-$(scripts/postgres.sh)}
go vet ./...
go test -count=1 "$@" ./...
