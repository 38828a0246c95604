#!/usr/bin/env bash
# Makes sure PostgreSQL with PostGIS is installed and running on this Debian/Ubuntu machine,
# then prints (on stdout, alone) a libpq URL of the server's maintenance database that the
# current user may use as a superuser. Safe to run again; installs only what is missing.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
works() { PGCONNECT_TIMEOUT=3 psql -w -X -q -tA "$1" -c 'SELECT 1' >/dev/null 2>&1; }

# An operator who points us at a server of their own gets no installation at all.
if [ -n "${HUB_ADMIN_DATABASE_URL:-}" ]; then
  works "$HUB_ADMIN_DATABASE_URL" || { log "cannot connect to HUB_ADMIN_DATABASE_URL"; exit 1; }
  echo "$HUB_ADMIN_DATABASE_URL"; exit 0
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing PostgreSQL"
  apt_install postgresql postgresql-contrib
fi
PGVER=$(ls /usr/lib/postgresql | sort -n | tail -1)
if [ ! -f "/usr/share/postgresql/$PGVER/extension/postgis.control" ]; then
  log "installing PostGIS for PostgreSQL $PGVER"
  apt_install "postgresql-$PGVER-postgis-3"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 && ! pg_isready -q; then
  if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
    log "creating a PostgreSQL $PGVER cluster"
    as_root pg_createcluster "$PGVER" main >&2
  fi
  read -r ver name _ < <(pg_lsclusters -h | head -1)
  log "starting PostgreSQL $ver/$name"
  as_root pg_ctlcluster "$ver" "$name" start >&2 2>/dev/null || as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >&2
  for _ in $(seq 30); do pg_isready -q && break; sleep 1; done
fi

# Trust on loopback (CI and development machines) or, on a stock install, the Unix socket with
# peer authentication as a superuser role named after the current user.
tcp="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
if works "$tcp"; then echo "$tcp"; exit 0; fi
me=$(id -un)
sock="postgres://$me@/postgres?host=/var/run/postgresql"
if ! works "$sock"; then
  log "creating the PostgreSQL superuser role $me"
  as_postgres psql -X -q -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$me') THEN CREATE ROLE \"$me\" LOGIN SUPERUSER; END IF; END\$\$" >&2
fi
works "$sock" || { log "cannot connect to PostgreSQL as $me over $sock"; exit 1; }
echo "$sock"
