-- Generated layers of the demo warehouse, built in schema sample_work from the real communes
-- (already imported) and read back through the importer by generate.go. Every random choice
-- is a hash of a position and the seed (:seed), so the same seed gives the same data.
-- Placeholders :seed and :parcels are replaced by integers before the steps run.

-- +step
DROP SCHEMA IF EXISTS sample_work CASCADE;
-- +step
CREATE SCHEMA sample_work;
-- +step
-- The national roads of OpenStreetMap, loaded by generate.go from the embedded file.
CREATE TABLE sample_work.osm_routes (geom geometry(MultiLineString, 4326), props jsonb);
-- +step
-- A uniform number in [0, 1) for a key and a salt.
CREATE FUNCTION sample_work.rnd(k bigint, salt bigint) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (hashint8extended(k, salt) & 2147483647)::float8 / 2147483648.0;
-- +step
CREATE FUNCTION sample_work.key(i int, j int) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (i::bigint << 32) | (j::bigint & 4294967295);
-- +step
-- A grid vertex, moved by up to a fifth of the cell so that parcels are irregular quadrilaterals;
-- neighbouring cells compute the same vertex, so they share edges and never overlap.
CREATE FUNCTION sample_work.vertex(i int, j int, s float8, seed bigint) RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ST_MakePoint(i * s + (sample_work.rnd(sample_work.key(i, j), seed) - 0.5) * 0.4 * s,
                    j * s + (sample_work.rnd(sample_work.key(i, j), seed + 1) - 0.5) * 0.4 * s);
-- +step
-- The midpoint of an edge, bent a little, on about half of the edges (5–8 vertices a parcel).
CREATE FUNCTION sample_work.bend(a geometry, b geometry, k bigint, seed bigint) RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN sample_work.rnd(k, seed + 2) < 0.5 THEN NULL ELSE
    ST_MakePoint((ST_X(a) + ST_X(b)) / 2 + (sample_work.rnd(k, seed + 3) - 0.5) * 0.15 * abs(ST_Y(b) - ST_Y(a) + ST_X(b) - ST_X(a)),
                 (ST_Y(a) + ST_Y(b)) / 2 + (sample_work.rnd(k, seed + 4) - 0.5) * 0.15 * abs(ST_Y(b) - ST_Y(a) + ST_X(b) - ST_X(a))) END;
-- +step
-- A parcel: the cell (i, j) of a grid of size s with moved corners and bent edges. Written as
-- one expression so that PostgreSQL inlines it (a non-inlined SQL function costs 0.2 ms a call).
CREATE FUNCTION sample_work.cell(i int, j int, s float8, seed bigint) RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ST_SetSRID(ST_MakePolygon(ST_MakeLine(array_remove(ARRAY[
        sample_work.vertex(i, j, s, seed),
        sample_work.bend(sample_work.vertex(i, j, s, seed), sample_work.vertex(i + 1, j, s, seed), sample_work.key(i, j) * 2, seed),
        sample_work.vertex(i + 1, j, s, seed),
        sample_work.bend(sample_work.vertex(i + 1, j, s, seed), sample_work.vertex(i + 1, j + 1, s, seed), sample_work.key(i + 1, j) * 2 + 1, seed),
        sample_work.vertex(i + 1, j + 1, s, seed),
        sample_work.bend(sample_work.vertex(i + 1, j + 1, s, seed), sample_work.vertex(i, j + 1, s, seed), sample_work.key(i, j + 1) * 2, seed),
        sample_work.vertex(i, j + 1, s, seed),
        sample_work.bend(sample_work.vertex(i, j + 1, s, seed), sample_work.vertex(i, j, s, seed), sample_work.key(i, j) * 2 + 1, seed),
        sample_work.vertex(i, j, s, seed)], NULL))), 9209);
-- +step
-- Picks a value from a weighted list for a uniform number r. The cumulative weights of a
-- constant list are folded once at plan time, so the call inlines to an array lookup.
CREATE FUNCTION sample_work.cumsum(w float8[]) RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT array_agg(c ORDER BY o) FROM (SELECT o, sum(x) OVER (ORDER BY o) / sum(x) OVER () AS c FROM unnest(w) WITH ORDINALITY u(x, o)) t);
-- +step
CREATE FUNCTION sample_work.pick(r float8, vals text[], weights float8[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN vals[least(width_bucket(r, sample_work.cumsum(weights)) + 1, cardinality(vals))];
-- +step
-- Chainage as surveyors write it: whole metres as Km+m ("Km12+350").
CREATE FUNCTION sample_work.km(m float8) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'Km' || (round(m)::bigint / 1000) || '+' || lpad((round(m)::bigint % 1000)::text, 3, '0');
-- +step
CREATE TABLE sample_work.communes AS
SELECT fid, code, name, district, district_code,
       name LIKE 'Phường%' OR name LIKE 'Thị trấn%' AS urban,
       ST_Transform(geom, 9209) AS g
FROM data.communes WHERE code IS NOT NULL;

-- +step
-- Communes in a seeded order until they hold the parcels asked for (urban cells 16 m, rural 28 m).
CREATE TABLE sample_work.chosen AS
SELECT * FROM (
    SELECT c.*, sum(ST_Area(g) / (s * s)) OVER (ORDER BY sample_work.rnd(fid, :seed), fid) AS cum, ST_Area(g) / (s * s) AS cells
    FROM (SELECT c.*, CASE WHEN urban THEN 16.0 ELSE 28.0 END AS s FROM sample_work.communes c) c) x
WHERE cum - cells < :parcels * 1.15;

-- +step
CREATE TABLE sample_work.cells AS
SELECT c.fid AS commune_fid, c.code, c.name AS commune, c.urban, i, j,
       CASE WHEN ST_Within(cell, c.g) THEN cell ELSE ST_Intersection(cell, c.g) END AS g,
       sample_work.rnd(c.fid, :seed) AS corder
FROM sample_work.chosen c,
     LATERAL generate_series(floor(ST_XMin(c.g) / c.s)::int, ceil(ST_XMax(c.g) / c.s)::int) i,
     LATERAL generate_series(floor(ST_YMin(c.g) / c.s)::int, ceil(ST_YMax(c.g) / c.s)::int) j,
     LATERAL (SELECT sample_work.cell(i, j, c.s, :seed) AS cell) x
WHERE ST_Intersects(ST_SetSRID(ST_MakePoint((i + 0.5) * c.s, (j + 0.5) * c.s), 9209), c.g);

-- +step
CREATE TABLE sample_work.parcels AS
WITH kept AS (
    SELECT * FROM sample_work.cells
    WHERE GeometryType(g) IN ('POLYGON', 'MULTIPOLYGON') AND ST_Area(g) > 20
    ORDER BY corder, commune_fid, j DESC, i
    LIMIT :parcels),
sheets AS (
    SELECT k.*, dense_rank() OVER (PARTITION BY commune_fid ORDER BY floor(j / 20.0) DESC, floor(i / 20.0)) AS so_to
    FROM kept k),
uses AS (
    SELECT s.*,
           CASE WHEN sample_work.rnd(sample_work.key(i, j), :seed + 9) < 0.12
                THEN CASE WHEN urban THEN 'ODT' ELSE sample_work.pick(sample_work.rnd(sample_work.key(i, j), :seed + 10), ARRAY['ONT', 'DGT', 'DTL'], ARRAY[0.6, 0.25, 0.15]) END
                WHEN urban THEN sample_work.pick(sample_work.rnd(sample_work.key(i / 6, j / 6), :seed + 11),
                    ARRAY['ODT', 'TMD', 'DGT', 'SKC', 'DGD', 'DYT', 'TSC', 'DVH', 'DTT', 'CLN', 'LUC', 'NTS', 'TON', 'MNC'],
                    ARRAY[0.45, 0.10, 0.12, 0.06, 0.04, 0.02, 0.03, 0.02, 0.02, 0.04, 0.05, 0.02, 0.01, 0.02])
                ELSE sample_work.pick(sample_work.rnd(sample_work.key(i / 8, j / 8), :seed + 11),
                    ARRAY['LUC', 'ONT', 'CLN', 'HNK', 'NTS', 'LUK', 'DGT', 'DTL', 'NTD', 'SKC', 'TMD', 'DGD', 'TIN', 'SON'],
                    ARRAY[0.42, 0.16, 0.09, 0.07, 0.07, 0.04, 0.05, 0.03, 0.01, 0.02, 0.01, 0.01, 0.01, 0.01])
           END AS land_use
    FROM sheets s)
SELECT u.so_to, row_number() OVER (PARTITION BY commune_fid, so_to ORDER BY j DESC, i) AS so_thua,
       round(ST_Area(g)::numeric, 1) AS dien_tich, land_use, code AS commune_code,
       -- Commune code, sheet and parcel number identify a parcel (codes are unique per commune).
       code || '-' || u.so_to || '-' || row_number() OVER (PARTITION BY commune_fid, so_to ORDER BY j DESC, i) AS parcel_code,
       CASE WHEN land_use IN ('DGT', 'DTL', 'SON', 'MNC', 'TSC', 'DGD', 'DYT', 'DVH', 'DTT', 'NTD')
            THEN 'UBND ' || commune
            ELSE sample_work.pick(sample_work.rnd(sample_work.key(i, j), :seed + 20),
                    ARRAY['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Vũ', 'Hoàng', 'Đặng', 'Bùi', 'Đỗ', 'Ngô', 'Dương', 'Phan', 'Đinh', 'Mạc', 'Lương', 'Tăng'],
                    ARRAY[38, 11, 9, 7, 5, 4, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1]::float8[])
                 || ' ' || sample_work.pick(sample_work.rnd(sample_work.key(i, j), :seed + 21),
                    ARRAY['Văn', 'Thị', 'Đức', 'Minh', 'Thị Thu', 'Hữu', 'Xuân', 'Thanh', 'Quang', 'Ngọc'],
                    ARRAY[30, 28, 8, 6, 5, 6, 5, 5, 4, 3]::float8[])
                 || ' ' || (ARRAY['Hùng', 'Lan', 'Hương', 'Dũng', 'Hoa', 'Tuấn', 'Mai', 'Nam', 'Hải', 'Bình', 'Thảo', 'Cường',
                                  'Linh', 'Phương', 'Long', 'Hạnh', 'Sơn', 'Trang', 'Quân', 'Huyền', 'Thắng', 'Nga', 'Khánh', 'Yến'])
                    [1 + floor(sample_work.rnd(sample_work.key(i, j), :seed + 22) * 24)::int]
       END AS owner_name,
       CASE WHEN land_use IN ('DGT', 'DTL', 'SON', 'MNC', 'TSC', 'DGD', 'DYT', 'DVH', 'DTT', 'NTD') THEN NULL
            -- Citizen id: province 030 (Hải Dương), century and sex, year of birth, six digits.
            ELSE '030' || (floor(sample_work.rnd(sample_work.key(i, j), :seed + 23) * 4))::int
                 || lpad((40 + floor(sample_work.rnd(sample_work.key(i, j), :seed + 24) * 60))::int::text, 2, '0')
                 || lpad(floor(sample_work.rnd(sample_work.key(i, j), :seed + 25) * 1000000)::int::text, 6, '0')
       END AS owner_id,
       ST_Multi(g) AS g
FROM uses u;

-- +step
-- The parcels' overview for small scales (z8–14), where parcels themselves would make tiles of
-- up to a megabyte: one feature per commune with its parcel count, area and dominant land use.
CREATE TABLE sample_work.parcels_overview AS
SELECT p.commune_code, c.name AS commune, count(*) AS parcels, round(sum(p.dien_tich) / 10000, 2) AS area_ha,
       mode() WITHIN GROUP (ORDER BY p.land_use) AS main_land_use,
       round(avg(p.dien_tich)::numeric, 1) AS mean_area_m2,
       ST_Multi(c.g) AS g
FROM sample_work.parcels p JOIN sample_work.communes c ON c.code = p.commune_code
GROUP BY p.commune_code, c.name, c.g;

-- +step
-- Planning zones: 500 m blocks of each commune with a planned use and the limits of the plan.
CREATE TABLE sample_work.zoning AS
SELECT c.code || '-' || lpad(row_number() OVER (PARTITION BY c.code ORDER BY sq.i, sq.j)::text, 3, '0') AS zone_code,
       CASE WHEN c.urban THEN 'Quy hoạch phân khu ' ELSE 'Quy hoạch chung xây dựng ' END || c.name || ' đến năm 2030, tầm nhìn 2050' AS plan_name,
       (100 + floor(sample_work.rnd(c.fid, :seed + 30) * 3900))::int || '/QĐ-UBND' AS decision_no,
       (date '2019-01-15' + floor(sample_work.rnd(c.fid, :seed + 31) * 2000)::int) AS decision_date,
       pu.use AS planned_use,
       CASE WHEN pu.use IN ('ODT', 'ONT') THEN 40 + floor(sample_work.rnd(sample_work.key(sq.i, sq.j), :seed + 33) * 40)
            WHEN pu.use IN ('TMD', 'SKK', 'SKC') THEN 50 + floor(sample_work.rnd(sample_work.key(sq.i, sq.j), :seed + 33) * 20)
            ELSE 5 + floor(sample_work.rnd(sample_work.key(sq.i, sq.j), :seed + 33) * 20) END AS density_max_pct,
       CASE WHEN pu.use IN ('ODT', 'TMD') THEN 5 + floor(sample_work.rnd(sample_work.key(sq.i, sq.j), :seed + 34) * 20)::int
            WHEN pu.use IN ('ONT', 'SKK', 'SKC', 'DGD', 'DYT') THEN 3 + floor(sample_work.rnd(sample_work.key(sq.i, sq.j), :seed + 34) * 3)::int
            ELSE 1 END AS height_max_floors,
       round((CASE WHEN pu.use IN ('ODT', 'TMD') THEN 1.5 + sample_work.rnd(sample_work.key(sq.i, sq.j), :seed + 35) * 4.5
                   WHEN pu.use IN ('ONT', 'SKK', 'SKC', 'DGD', 'DYT') THEN 0.8 + sample_work.rnd(sample_work.key(sq.i, sq.j), :seed + 35) * 1.2
                   ELSE 0.05 + sample_work.rnd(sample_work.key(sq.i, sq.j), :seed + 35) * 0.2 END)::numeric, 2) AS far_max,
       c.code AS commune_code,
       ST_Multi(ST_CollectionExtract(ST_Intersection(sq.geom, c.g), 3)) AS g
FROM sample_work.communes c,
     LATERAL ST_SquareGrid(500, c.g) sq,
     LATERAL (SELECT CASE WHEN c.urban THEN sample_work.pick(sample_work.rnd(sample_work.key(sq.i, sq.j), :seed + 32),
                        ARRAY['ODT', 'TMD', 'DGT', 'DGD', 'DYT', 'DVH', 'DTT', 'SKC', 'MNC'], ARRAY[0.45, 0.15, 0.1, 0.06, 0.03, 0.05, 0.05, 0.06, 0.05])
                  ELSE sample_work.pick(sample_work.rnd(sample_work.key(sq.i, sq.j), :seed + 32),
                        ARRAY['LUC', 'ONT', 'CLN', 'NTS', 'SKK', 'TMD', 'DGD', 'NTD', 'DTL'], ARRAY[0.45, 0.2, 0.1, 0.08, 0.06, 0.03, 0.03, 0.02, 0.03]) END AS use) pu
WHERE ST_Intersects(sq.geom, c.g) AND ST_Area(ST_Intersection(sq.geom, c.g)) > 5000;

-- +step
-- Soil mapping units: Voronoi cells of seeded points over the province; the class follows the
-- terrain the way the provincial soil map does: alluvium along the rivers, hill soils in the
-- north (Chí Linh, Kinh Môn), gleyed and acid alluvium in the low south and east.
CREATE TABLE sample_work.soil AS
WITH prov AS (SELECT ST_Transform(geom, 9209) AS g FROM data.province LIMIT 1),
rivers AS (SELECT ST_Union(ST_Transform(geom, 9209)) AS g FROM data.waterways WHERE waterway IN ('river', 'canal')),
cells AS (
    SELECT (ST_Dump(ST_VoronoiPolygons(ST_GeneratePoints(p.g, 450, :seed::int)))).geom AS cell, p.g AS pg FROM prov p),
units AS (
    SELECT row_number() OVER (ORDER BY ST_XMin(cell), ST_YMin(cell)) AS k,
           ST_Multi(ST_CollectionExtract(ST_Intersection(cell, pg), 3)) AS g FROM cells),
placed AS (
    SELECT u.k, u.g, ST_Y(ST_Centroid(u.g)) AS north,
           ST_Distance(ST_Centroid(u.g), r.g) AS river_m,
           sample_work.rnd(u.k, :seed + 40) AS r
    FROM units u, rivers r WHERE NOT ST_IsEmpty(u.g)),
classed AS (
    SELECT p.*, CASE
        WHEN north > 2336000 AND r < 0.7 THEN (CASE WHEN r < 0.4 THEN 'Fs' ELSE 'Fq' END)
        WHEN river_m < 700 THEN 'Pb'
        WHEN north < 2300000 AND r < 0.35 THEN 'Pg'
        WHEN r < 0.08 THEN 'Sj'
        WHEN r < 0.2 THEN 'Pc'
        WHEN r < 0.55 THEN 'Pg'
        ELSE 'P' END AS soil_code
    FROM placed p)
SELECT 'TN-' || lpad(k::text, 4, '0') AS unit_code, soil_code,
       CASE soil_code WHEN 'Pb' THEN 'Đất phù sa được bồi hằng năm' WHEN 'P' THEN 'Đất phù sa không được bồi'
            WHEN 'Pg' THEN 'Đất phù sa glây' WHEN 'Pc' THEN 'Đất phù sa chua' WHEN 'Sj' THEN 'Đất phèn tiềm tàng'
            WHEN 'Fs' THEN 'Đất đỏ vàng trên đá sét và đá biến chất' WHEN 'Fq' THEN 'Đất vàng nhạt trên đá cát' END AS soil_name,
       CASE soil_code WHEN 'Pb' THEN 'Eutric Fluvisols' WHEN 'P' THEN 'Dystric Fluvisols' WHEN 'Pg' THEN 'Gleyic Fluvisols'
            WHEN 'Pc' THEN 'Dystric Fluvisols' WHEN 'Sj' THEN 'Thionic Fluvisols' WHEN 'Fs' THEN 'Ferralic Acrisols'
            WHEN 'Fq' THEN 'Haplic Acrisols' END AS wrb_name,
       round((CASE soil_code WHEN 'Pb' THEN 6.2 WHEN 'P' THEN 5.6 WHEN 'Pg' THEN 5.0 WHEN 'Pc' THEN 4.6 WHEN 'Sj' THEN 4.0
                  WHEN 'Fs' THEN 4.5 ELSE 4.3 END + (sample_work.rnd(k, :seed + 41) - 0.5) * 0.8)::numeric, 1) AS ph_kcl,
       round((CASE soil_code WHEN 'Fs' THEN 1.2 WHEN 'Fq' THEN 0.9 WHEN 'Pg' THEN 2.4 ELSE 1.8 END
                  + sample_work.rnd(k, :seed + 42) * 0.9)::numeric, 2) AS organic_matter_pct,
       sample_work.pick(sample_work.rnd(k, :seed + 43),
            CASE WHEN soil_code IN ('Fs', 'Fq') THEN ARRAY['Thịt nặng', 'Sét', 'Thịt trung bình'] ELSE ARRAY['Thịt nhẹ', 'Thịt trung bình', 'Thịt nặng', 'Cát pha'] END,
            CASE WHEN soil_code IN ('Fs', 'Fq') THEN ARRAY[0.4, 0.3, 0.3] ELSE ARRAY[0.3, 0.4, 0.2, 0.1] END) AS texture,
       CASE WHEN soil_code IN ('Pb', 'P') THEN 'S1' WHEN soil_code IN ('Pg', 'Pc') THEN 'S2' WHEN soil_code = 'Sj' THEN 'S3' ELSE 'N' END AS suitability_rice,
       CASE WHEN soil_code IN ('Pb', 'P') THEN 'S1' WHEN soil_code IN ('Pc', 'Fq') THEN 'S2' ELSE 'S3' END AS suitability_vegetables,
       CASE WHEN soil_code IN ('Fs', 'Fq', 'P') THEN 'S1' WHEN soil_code IN ('Pb', 'Pc') THEN 'S2' ELSE 'N' END AS suitability_fruit,
       g
FROM classed;

-- +step
-- Roads: the real national roads and expressway (OpenStreetMap), and provincial and district
-- roads generated along the edges between neighbouring commune centres. Chainage runs along
-- each road number from Km0+000.
CREATE TABLE sample_work.roads_raw AS
SELECT replace(osm.ref, 'QL.', 'QL.') AS road_no, osm.name, CASE WHEN osm.ref LIKE 'CT%' THEN 'Đường cao tốc' ELSE 'Quốc lộ' END AS road_class,
       CASE WHEN osm.ref LIKE 'CT%' THEN 'Cao tốc' ELSE 'Cấp II' END AS technical_grade, 'Bê tông nhựa' AS surface,
       CASE WHEN osm.ref LIKE 'CT%' THEN 33.0 ELSE 20.5 END AS width_m, 'OpenStreetMap' AS source, 0 AS k,
       (ST_Dump(ST_LineMerge(ST_Transform(osm.geom, 9209)))).geom AS g
FROM (SELECT geom, props ->> 'ref' AS ref, props ->> 'name' AS name FROM sample_work.osm_routes) osm;
-- +step
INSERT INTO sample_work.roads_raw
SELECT CASE WHEN cls = 'ĐT' THEN (ARRAY['ĐT.388', 'ĐT.389', 'ĐT.390', 'ĐT.391', 'ĐT.392', 'ĐT.392B', 'ĐT.393', 'ĐT.394', 'ĐT.395', 'ĐT.396', 'ĐT.398', 'ĐT.399'])[1 + floor(sample_work.rnd(k, :seed + 51) * 12)::int]
            ELSE 'ĐH.' || (1 + floor(sample_work.rnd(k, :seed + 52) * 40))::int END,
       CASE WHEN cls = 'ĐT' THEN 'Đường tỉnh ' ELSE 'Đường huyện ' END || a_name || ' – ' || b_name,
       CASE WHEN cls = 'ĐT' THEN 'Đường tỉnh' ELSE 'Đường huyện' END,
       CASE WHEN cls = 'ĐT' THEN 'Cấp III' ELSE (ARRAY['Cấp IV', 'Cấp V', 'Cấp VI'])[1 + floor(sample_work.rnd(k, :seed + 53) * 3)::int] END,
       sample_work.pick(sample_work.rnd(k, :seed + 54), ARRAY['Bê tông nhựa', 'Láng nhựa', 'Bê tông xi măng', 'Cấp phối'],
            CASE WHEN cls = 'ĐT' THEN ARRAY[0.6, 0.3, 0.1, 0.0] ELSE ARRAY[0.2, 0.4, 0.3, 0.1] END),
       CASE WHEN cls = 'ĐT' THEN 9.0 + floor(sample_work.rnd(k, :seed + 55) * 4) ELSE 5.5 + floor(sample_work.rnd(k, :seed + 55) * 3) END,
       'Dữ liệu mẫu (sinh tự động)', k, g
FROM (
    SELECT e.k, e.g, CASE WHEN sample_work.rnd(e.k, :seed + 50) < 0.3 THEN 'ĐT' ELSE 'ĐH' END AS cls,
           (SELECT name FROM sample_work.communes c ORDER BY c.g <-> ST_StartPoint(e.g) LIMIT 1) AS a_name,
           (SELECT name FROM sample_work.communes c ORDER BY c.g <-> ST_EndPoint(e.g) LIMIT 1) AS b_name
    FROM (SELECT row_number() OVER () AS k, d.geom AS g
          FROM (SELECT (ST_Dump(ST_DelaunayTriangles(ST_Collect(ST_PointOnSurface(g)), 0, 1))).geom FROM sample_work.communes) d
          WHERE ST_Length(d.geom) < 5000) e) x;
-- +step
CREATE TABLE sample_work.roads AS
SELECT road_no, name, road_class, technical_grade, surface, width_m, source,
       start_m, round((start_m + len)::numeric, 1) AS end_m,
       sample_work.km(start_m) AS km_start, sample_work.km(start_m + len) AS km_end,
       round(len::numeric, 1) AS length_m, g
FROM (SELECT r.*, ST_Length(g) AS len,
             round(COALESCE(sum(ST_Length(g)) OVER (PARTITION BY road_no ORDER BY ST_XMin(g), k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::numeric, 0)::float8 AS start_m
      FROM sample_work.roads_raw r WHERE GeometryType(g) = 'LINESTRING') r;

-- +step
-- Bridges and culverts where roads cross waterways, located by chainage along the road.
CREATE TABLE sample_work.bridges AS
SELECT CASE WHEN w.waterway IN ('river', 'canal') THEN 'Cầu ' ELSE 'Cống ' END
           || COALESCE(w.name, r.road_no || ' Km' || floor(m / 1000)::int) AS name,
       CASE WHEN w.waterway IN ('river', 'canal') THEN 'Cầu' ELSE 'Cống' END AS kind,
       r.road_no, round(m) AS chainage_m, sample_work.km(m) AS chainage,
       CASE WHEN w.waterway = 'river' THEN (ARRAY[30, 25, 18])[1 + floor(sample_work.rnd(hashtext(r.road_no || m::text), :seed + 60) * 3)::int]
            WHEN w.waterway = 'canal' THEN 18 ELSE 10 END AS load_limit_t,
       (1965 + floor(sample_work.rnd(hashtext(r.road_no || m::text), :seed + 61) * 58))::int AS year_built,
       w.name AS waterway,
       p AS g
FROM sample_work.roads r
JOIN (SELECT name, waterway, ST_Transform(geom, 9209) AS g FROM data.waterways) w ON ST_Intersects(r.g, w.g),
     LATERAL (SELECT (ST_Dump(ST_Intersection(r.g, w.g))).geom AS p) x,
     LATERAL (SELECT r.start_m + ST_LineLocatePoint(r.g, x.p) * ST_Length(r.g) AS m) c
WHERE GeometryType(x.p) = 'POINT';
