#!/usr/bin/env bash
# Import benchmark (warehouse issue): hub import against ogr2ogr -f PostgreSQL (PG_USE_COPY=YES)
# on the same 1,000,000-parcel GeoJSON, in the same run. Reports features/s and peak RSS.
#
#   bench/import.sh [PARCELS]        (default 1000000; the file is generated once and kept)
#
# Needs gdal-bin. Uses the database hub_bench on the server scripts/postgres.sh finds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
n=${1:-1000000}
bench_db
out=bench/out; mkdir -p "$out"
file="$out/parcels-$n.geojson"
# GDAL takes libpq key=value pairs, not a URL.
pg="PG:$(psql -X -tA "$HUB_DATABASE_URL" -c "SELECT format('dbname=%s user=%s port=%s host=%s', current_database(), current_user, current_setting('port'), COALESCE(host(inet_server_addr()), '/var/run/postgresql'))")"
if [ ! -s "$file" ]; then
  echo "generating $n parcels (hub sample) and writing $file with ogr2ogr (WGS 84, as delivered to the web)…"
  bin/hub sample --if-missing --parcels "$n" --seed 1 | grep -E "land-parcels|ready"
  ogr2ogr -f GeoJSON -t_srs EPSG:4326 -lco RFC7946=YES -lco COORDINATE_PRECISION=7 "$file" "$pg" data.land_parcels \
    -sql "SELECT so_to, so_thua, dien_tich, land_use, commune_code, owner_name, owner_id, geom FROM data.land_parcels ORDER BY fid"
fi
size=$(du -m "$file" | cut -f1)
echo "file: $file ($size MiB)"

measure() { # label command…
  local label=$1; shift
  local log; log=$(mktemp)
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v "$@" >/dev/null 2>"$log"
  end=$(date +%s.%N)
  local secs rss
  secs=$(echo "$end - $start" | bc)
  rss=$(awk '/Maximum resident set size/ {print int($6/1024)}' "$log")
  printf "%-34s %8.1f s %10.0f features/s %6d MB peak RSS\n" "$label" "$secs" "$(echo "$n / $secs" | bc -l)" "$rss"
  rm -f "$log"
}

psql -X -q "$HUB_DATABASE_URL" -c "DROP TABLE IF EXISTS public.ogr_parcels" >/dev/null
for run in 1 2; do
  echo "run $run"
  # --fix-invalid: a few clipped slivers turn self-intersecting at the 7 decimals of the file;
  # hub validates every geometry (ogr2ogr checks none) and repairs them instead of refusing.
  measure "hub import --fix-invalid" bin/hub import --fix-invalid --collection bench-parcels "$file"
  measure "ogr2ogr -f PostgreSQL (COPY)" env PG_USE_COPY=YES ogr2ogr -f PostgreSQL "$pg" "$file" -nln ogr_parcels -overwrite -lco SPATIAL_INDEX=GIST
done
