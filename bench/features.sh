#!/usr/bin/env bash
# Features API benchmark (feature API issue): pages of 1,000 parcels at random keyset
# positions and 300 m bbox queries, through the hub and as the same SQL directly through pgx,
# in the same run, on the 1,000,000-parcel sample (bench/import.sh builds hub_bench).
#
#   bench/features.sh [DURATION]     (default 20s per measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bench_db
bin/hub sample --if-missing --parcels 1000000 --seed 1 | tail -1
# The hub serves land parcels and residents to agencies with a grant: the benchmark is one.
export HUB_BENCH_KEY=$(bench_key dat-dai)
addr=127.0.0.1:$(free_port)
HUB_LOG_FORMAT=text HUB_RATE_LIMIT=0 HUB_ANON_RATE_LIMIT=0 bin/hub serve --addr "$addr" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid' EXIT
sleep 1
go run ./bench/features -url "http://$addr" -collection land-parcels -duration "${1:-20s}"
echo "hub peak RSS after limit=1000 pages: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
# Pages ten times larger must not grow the hub: it streams rows, it never holds a page.
go run ./bench/features -url "http://$addr" -collection land-parcels -duration 10s -limit 10000 | sed -n 3,4p
echo "hub peak RSS after limit=10000 pages: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
