# Sourced by the make targets: puts Go on the PATH and checks its version.
export PATH="$PATH:/usr/local/go/bin"
if ! command -v go >/dev/null; then
  echo "Go 1.26 or newer is needed: unpack https://go.dev/dl/ into /usr/local/go" >&2
  exit 1
fi
# with_db URL NAME: URL with its database name replaced (URLs from postgres.sh end in /postgres?…).
with_db() { echo "${1/\/postgres\?//$2?}"; }
# ensure_db ADMIN_URL NAME: creates the database if it does not exist.
ensure_db() {
  if [ "$(psql -X -tA "$1" -c "SELECT 1 FROM pg_database WHERE datname = '$2'")" != 1 ]; then
    psql -X -q "$1" -c "CREATE DATABASE \"$2\""
  fi
}
# build_hub: bin/hub, stamped with the commit it was built from.
build_hub() {
  go build -ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/hub ./cmd/hub
}
# bench_db: the benchmark database hub_bench, migrated, with a fresh bin/hub; sets HUB_DATABASE_URL.
bench_db() {
  local admin
  admin=$(scripts/postgres.sh)
  ensure_db "$admin" hub_bench
  export HUB_DATABASE_URL=$(with_db "$admin" hub_bench)
  build_hub
  bin/hub migrate >/dev/null
}
# free_port: a loopback port nobody listens on.
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
# bench_key ENTRY [unmask]: prints a new API key (valid a day) of the benchmarks' consuming agency,
# connected to ENTRY by an approved request or, with "unmask", holding an approved agreement that
# shows its personal data in clear (lookups by a personal key need it). Needs HUB_DATABASE_URL.
bench_key() {
  local entry=$1 mode=${2:-} agency=bench-consumer app=bench-app id
  q() { psql -X -q -tA "$HUB_DATABASE_URL" -c "$1"; }
  [ "$(q "SELECT count(*) FROM agencies WHERE id = '$agency'")" = 1 ] ||
    bin/hub agencies add --id "$agency" --name "Cơ quan đo hiệu năng" --name-en "Benchmark consumer" >/dev/null
  [ "$(q "SELECT count(*) FROM applications WHERE id = '$app'")" = 1 ] ||
    bin/hub agencies app --agency "$agency" --id "$app" --name "Ứng dụng đo hiệu năng" >/dev/null
  if [ "$mode" = unmask ]; then
    if [ "$(q "SELECT count(*) FROM agreements WHERE application_id = '$app' AND entry_id = '$entry' AND status = 'approved' AND unmask_personal AND ends_on > current_date")" = 0 ]; then
      id=$(bin/hub requests agree --agency "$agency" --application "$app" --entry "$entry" --purpose "Đo hiệu năng — benchmark" \
             --ends "$(date -d '+1 year' +%F)" --retention "Không lưu — nothing kept" --unmask |
           python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
      bin/hub requests approve-agreement "$id" >/dev/null
    fi
  elif [ "$(q "SELECT count(*) FROM access_requests WHERE application_id = '$app' AND entry_id = '$entry' AND status = 'approved'")" = 0 ]; then
    id=$(bin/hub requests submit --agency "$agency" --application "$app" --entry "$entry" --purpose "Đo hiệu năng — benchmark" |
         python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    bin/hub requests approve "$id" >/dev/null
  fi
  bin/hub keys create --agency "$agency" --application "$app" --label benchmark --expires 1d | tail -1
}
