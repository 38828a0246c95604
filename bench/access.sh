#!/usr/bin/env bash
# Access control benchmark (access issue): what the policy and the audit log cost. The same
# tile and items requests on land-parcels served off (anonymous, the collection open: no
# restriction, no audit), with a connected agency's key on the open collection (policy, nothing
# to log), and on (that key, the collection back to its entry's default category: policy view +
# one audit record per answer), interleaved in rounds in one run against one database, beside
# the same statements run directly through pgx; the audit log is counted around every keyed run.
# Builds its own database, hub_bench_access (PARCELS parcels, default 200,000: about a minute on
# 2 cores the first time).
#
#   bench/access.sh [DURATION]     (default 12s per side and case; about 5 minutes in all)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
admin=$(scripts/postgres.sh)
ensure_db "$admin" hub_bench_access
export HUB_DATABASE_URL=$(with_db "$admin" hub_bench_access)
build_hub
bin/hub migrate >/dev/null
start=$SECONDS
bin/hub sample --if-missing --parcels "${PARCELS:-200000}" --seed 1 | tail -1
echo "sample: $((SECONDS - start)) s"

# The benchmarks' consuming agency, connected to dat-dai (the entry of land-parcels, shared
# default + specific) by an approved request, with a key made for this run.
export HUB_BENCH_KEY=$(bench_key dat-dai)
key_id=${HUB_BENCH_KEY:0:12} # hub_ and the 8 characters of the public id

# Two hubs on loopback: tile cache on (warm runs, items) and off (cold tiles). Rate limits off on
# both, or the anonymous bucket (50/s) and the key's (200/s) would be measured instead.
warm=127.0.0.1:$(free_port); cold=127.0.0.1:$(free_port)
export HUB_LOG_FORMAT=text HUB_RATE_LIMIT=0 HUB_ANON_RATE_LIMIT=0
HUB_TILE_CACHE_MB=256 bin/hub serve --addr "$warm" >/dev/null 2>&1 & p1=$!
HUB_TILE_CACHE_MB=0 bin/hub serve --addr "$cold" >/dev/null 2>&1 & p2=$!
cleanup() {
  kill "$p1" "$p2" 2>/dev/null || true
  bin/hub layers policy --collection land-parcels --category inherit >/dev/null
  bin/hub keys revoke "$key_id" >/dev/null
}
trap cleanup EXIT
for a in "$warm" "$cold"; do
  for _ in $(seq 50); do curl -sf "http://$a/health" >/dev/null && break; sleep 0.2; done
done
go build -o bin/bench-access ./bench/access
bin/bench-access -url "http://$warm" -cold "http://$cold" -duration "${1:-12s}"
echo "hub peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$p1/status) (cache on), $(awk '/VmHWM/ {print $2, $3}' /proc/$p2/status) (cache off)"
start=$SECONDS
bin/hub audit verify | head -1
echo "audit verify: $((SECONDS - start)) s"
