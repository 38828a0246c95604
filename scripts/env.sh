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
