#!/usr/bin/env bash
# Synchronisation benchmark (connect-and-synchronise issue): a 1,000,000-row source table in an
# agency's PostgreSQL database, synchronised into the hub first whole, then after 1 % of it
# changed (8,000 updates, 1,000 inserts, 1,000 deletions), by content hash (every row read and
# compared) and by watermark with tombstones (only the changed rows read). The same row moves
# done directly in SQL (COPY out of the source, COPY into the hub, then the merge statements)
# are timed in the same run as the floor.
#
#   bench/sync.sh [ROWS]     (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
admin=$(scripts/postgres.sh)
ensure_db "$admin" hub_bench_sync
ensure_db "$admin" hub_bench_source
export HUB_DATABASE_URL=$(with_db "$admin" hub_bench_sync)
build_hub
bin/hub migrate >/dev/null
go run ./bench/sync -source "$(with_db "$admin" hub_bench_source)" -rows "${1:-1000000}"
