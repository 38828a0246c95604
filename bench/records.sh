#!/usr/bin/env bash
# Record collections benchmark (records issue): lookups by natural key on the 1,000,000
# residents and filtered pages of 1,000 records, through the hub and as the same SQL directly
# through pgx, in the same run.
#
#   bench/records.sh [DURATION]     (default 20s per measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bench_db
bin/hub sample --if-missing --parcels 1000000 --residents 1000000 --seed 1 | tail -1
# The hub serves land parcels and residents to agencies with a grant: the benchmark is one.
export HUB_BENCH_KEY=$(bench_key dan-cu unmask)
addr=127.0.0.1:$(free_port)
HUB_LOG_FORMAT=text HUB_RATE_LIMIT=0 HUB_ANON_RATE_LIMIT=0 bin/hub serve --addr "$addr" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid' EXIT
sleep 1
go run ./bench/records -url "http://$addr" -collection residents -duration "${1:-20s}"
