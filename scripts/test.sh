#!/usr/bin/env bash
# make test: the same prerequisites as the demo, then go vet and every test. Each test
# package creates and drops a database of its own on this server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# Real clients the tests drive: GDAL's ogr2ogr/ogrinfo.
if ! command -v ogr2ogr >/dev/null; then
  echo "installing gdal-bin" >&2
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq >&2 && $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdal-bin >&2
fi
export HUB_TEST_DATABASE_URL=${HUB_TEST_DATABASE_URL:-$(scripts/postgres.sh)}
go vet ./...
go test -count=1 "$@" ./...
