#!/usr/bin/env bash
# make test: the same prerequisites as the demo, then go vet and every test. Each test
# package creates and drops a database of its own on this server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
export HUB_TEST_DATABASE_URL=${HUB_TEST_DATABASE_URL:-$(scripts/postgres.sh)}
go vet ./...
go test -count=1 "$@" ./...
