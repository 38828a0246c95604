#!/usr/bin/env bash
# make demo: PostgreSQL + PostGIS, the "hub" database, migrations, sample data, then serve.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
admin=$(scripts/postgres.sh)
db=${HUB_DB_NAME:-hub}
ensure_db "$admin" "$db"
export HUB_DATABASE_URL=${HUB_DATABASE_URL:-$(with_db "$admin" "$db")}
build_hub
bin/hub migrate
bin/hub sample --if-missing --demo-key
addr=${HUB_ADDR:-127.0.0.1:8080}
echo "Hub: http://$addr  (Ctrl-C to stop)"
exec bin/hub serve --addr "$addr"
