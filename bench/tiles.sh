#!/usr/bin/env bash
# Vector-tile benchmark (tiles issue): random tiles at z12–z18 over the 1,000,000-parcel sample,
# the hub with its cache off and on, against the same SQL straight through pgx, in one run, at
# concurrency 1, 8 and 64. Peer servers (pg_tileserv, tegola) built outside the repository can
# be added with PEERS="name=http://…/{z}/{x}/{y},…".
#
#   bench/tiles.sh [DURATION]      (default 15s per measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bench_db
bin/hub sample --if-missing --parcels 1000000 --seed 1 | tail -1
cold=127.0.0.1:$(free_port); warm=127.0.0.1:$(free_port)
# Parcels are served to agencies with a grant: the benchmark is one. No rate limit: it is
# the servers that are measured.
export HUB_BENCH_KEY=$(bench_key dat-dai) HUB_RATE_LIMIT=0 HUB_ANON_RATE_LIMIT=0
HUB_TILE_CACHE_MB=0 HUB_LOG_FORMAT=text bin/hub serve --addr "$cold" >/dev/null 2>&1 & p1=$!
HUB_TILE_CACHE_MB=1024 HUB_LOG_FORMAT=text bin/hub serve --addr "$warm" >/dev/null 2>&1 & p2=$!
trap 'kill $p1 $p2' EXIT
sleep 1
go run ./bench/tiles -cold "http://$cold" -warm "http://$warm" -peers "${PEERS:-}" -duration "${1:-15s}"
