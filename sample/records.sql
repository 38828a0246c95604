-- Record collections of the demo warehouse: the non-spatial databases of the catalogue, built in
-- schema sample_rec from the real administrative units (layers communes and wards) and the
-- generated land parcels, and read back through the importer by records.go. Every random
-- choice is a hash of a row number, a salt and the seed, so the same seed gives the same data.
-- The snapshot date is 2026-10-31: nothing is dated later, and nothing depends on the clock.
--
-- Administrative codes follow the 2025 reorganisation: a record dated before 2025-07-01 names
-- the commune of the time (layer communes, GSO code), a later one the ward of now (layer
-- wards); where a record has no date of its own, the code is the ward of now. Codes were
-- reused with a new meaning (10525 was Phường Trần Hưng Đạo, is now Phường Hải Dương), which is
-- why the date decides.
--
-- Placeholders :seed, :residents, :enterprises, :births, :diplomas and :licences are replaced by
-- integers before the steps run.

-- +step
DROP SCHEMA IF EXISTS sample_rec CASCADE;
-- +step
CREATE SCHEMA sample_rec;
-- +step
-- A uniform number in [0, 1) for a row number and a salt (each column draws with its own salt).
CREATE FUNCTION sample_rec.r(k bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (hashint8extended(k, :seed::bigint * 4096 + salt) & 2147483647)::float8 / 2147483648.0;
-- +step
-- A standard normal number (Box–Muller), for log-normal sizes.
CREATE FUNCTION sample_rec.gauss(k bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN sqrt(-2 * ln(1 - sample_rec.r(k, salt))) * cos(2 * pi() * sample_rec.r(k, salt + 1));
-- +step
-- Picks a value from a weighted list; the cumulative weights of a constant list are folded
-- once at plan time (see generate.sql), so keep the weights constant.
CREATE FUNCTION sample_rec.cumsum(w float8[]) RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT array_agg(c ORDER BY o) FROM (SELECT o, sum(x) OVER (ORDER BY o) / sum(x) OVER () AS c FROM unnest(w) WITH ORDINALITY u(x, o)) t);
-- +step
CREATE FUNCTION sample_rec.pick(r float8, vals text[], weights float8[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN vals[least(width_bucket(r, sample_rec.cumsum(weights)) + 1, cardinality(vals))];
-- +step
-- Picks a value of an unweighted list.
CREATE FUNCTION sample_rec.one(r float8, vals text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN vals[1 + floor(r * cardinality(vals))::int];
-- +step
-- x rounded to a multiple of step (prices to 500 VND, values to thousands).
CREATE FUNCTION sample_rec.round_to(x float8, step float8) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN round(x / step) * step;
-- +step
-- The snapshot date of the sample.
CREATE FUNCTION sample_rec.snapshot() RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date '2026-10-31';

-- +step
-- Vietnamese names: family name (họ) by its frequency in the Red River delta (Mạc, Nhữ and Khúc
-- are old Hải Dương lineages), middle name (tên đệm) by sex and generation — Văn and Thị give
-- way to chosen middle names among the young — and given name (tên) by sex.
CREATE FUNCTION sample_rec.family_name(r float8) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN sample_rec.pick(r,
    ARRAY['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Vũ', 'Hoàng', 'Đỗ', 'Bùi', 'Đặng', 'Ngô', 'Dương', 'Đinh', 'Phan', 'Trịnh', 'Đào',
          'Đoàn', 'Lương', 'Mạc', 'Nhữ', 'Khúc', 'Tăng', 'Phùng', 'Cao', 'Hà', 'Lưu', 'Tạ', 'Vương', 'Nghiêm', 'Tô', 'Lại'],
    ARRAY[33, 10, 8, 7, 6, 4.5, 3.5, 3.5, 2.5, 2, 1.8, 1.5, 1.5, 1.5, 1.4,
          1.2, 1.2, 1, 0.5, 0.4, 0.8, 0.8, 0.8, 1, 0.8, 0.6, 0.5, 0.4, 0.8, 0.4]::float8[]);
-- +step
CREATE FUNCTION sample_rec.middle_name(r float8, r2 float8, female bool, born int) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN r < CASE WHEN born < 1970 THEN 0.8 WHEN born < 1990 THEN 0.6 WHEN born < 2005 THEN 0.35 ELSE 0.12 END
        THEN CASE WHEN female THEN 'Thị' ELSE 'Văn' END
    WHEN female THEN sample_rec.pick(r2,
        ARRAY['Thu', 'Thanh', 'Ngọc', 'Minh', 'Phương', 'Thùy', 'Hồng', 'Kim', 'Bích', 'Khánh', 'Bảo', 'Diệu', 'Mỹ', 'Hải', 'Tuệ', 'Gia', 'Thị Thu', 'Thị Thanh'],
        ARRAY[8, 9, 9, 7, 6, 6, 5, 4, 3, 5, 4, 2, 2, 3, 2, 3, 3, 2]::float8[])
    ELSE sample_rec.pick(r2,
        ARRAY['Đức', 'Minh', 'Quang', 'Hữu', 'Xuân', 'Thành', 'Tiến', 'Công', 'Mạnh', 'Duy', 'Đình', 'Thế', 'Gia', 'Bảo', 'Trọng', 'Hoàng', 'Ngọc', 'Anh', 'Đăng', 'Việt'],
        ARRAY[10, 10, 7, 5, 4, 6, 4, 5, 4, 6, 6, 4, 5, 4, 3, 4, 3, 3, 3, 4]::float8[])
END;
-- +step
CREATE FUNCTION sample_rec.given_name(r float8, female bool) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN female THEN sample_rec.one(r,
        ARRAY['Lan', 'Hương', 'Hoa', 'Mai', 'Thảo', 'Trang', 'Linh', 'Huyền', 'Hạnh', 'Nga', 'Yến', 'Phương', 'Hà', 'Hằng', 'Thủy',
              'Oanh', 'Loan', 'Nhung', 'Dung', 'Anh', 'Nhi', 'Vy', 'Chi', 'Hiền', 'Thúy', 'Vân', 'Quỳnh', 'Ly', 'Liên', 'Tâm',
              'Giang', 'Uyên', 'My', 'Thư', 'Ngân', 'Trâm', 'Duyên', 'Huệ', 'Nhàn', 'Tuyết', 'Xuân', 'Lụa', 'Hường', 'Thơm', 'Diệp'])
    ELSE sample_rec.one(r,
        ARRAY['Hùng', 'Dũng', 'Tuấn', 'Nam', 'Hải', 'Long', 'Sơn', 'Quân', 'Thắng', 'Cường', 'Hiếu', 'Huy', 'Khánh', 'Phong', 'Trung',
              'Tùng', 'Việt', 'Bình', 'Toàn', 'Lâm', 'Kiên', 'Tú', 'Vinh', 'Hưng', 'Hòa', 'Phúc', 'An', 'Khôi', 'Đạt', 'Hậu',
              'Nghĩa', 'Thịnh', 'Chiến', 'Dương', 'Hiệp', 'Thái', 'Lực', 'Lộc', 'Tâm', 'Khoa', 'Nguyên', 'Sang', 'Tài', 'Thuận', 'Bách'])
END;
-- +step
CREATE FUNCTION sample_rec.full_name(k bigint, salt int, female bool, born int) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN sample_rec.family_name(sample_rec.r(k, salt)) || ' '
    || sample_rec.middle_name(sample_rec.r(k, salt + 1), sample_rec.r(k, salt + 2), female, born) || ' '
    || sample_rec.given_name(sample_rec.r(k, salt + 3), female);
-- +step
-- The first six digits of a citizen id (căn cước): the province where the birth was registered
-- (030 Hải Dương, 031 Hải Phòng…), the century and sex (0/1 male/female born in the 1900s,
-- 2/3 in the 2000s) and the last two digits of the year of birth.
CREATE FUNCTION sample_rec.cid_prefix(province text, born date, female bool) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN province || ((CASE WHEN born >= date '2000-01-01' THEN 2 ELSE 0 END) + female::int)::text
    || lpad((extract(year FROM born)::int % 100)::text, 2, '0');
-- +step
-- Where a resident of the province was born: mostly here (Hải Dương, whose births are
-- registered by Hải Phòng since the merger), else a neighbouring province.
CREATE FUNCTION sample_rec.birth_province(r float8, born date) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN r < 0.88 THEN CASE WHEN born >= date '2025-07-01' THEN '031' ELSE '030' END
    ELSE sample_rec.pick((r - 0.88) / 0.12,
        ARRAY['031', '033', '034', '001', '022', '024', '027', '036', '037', '038', '035', '019'],
        ARRAY[20, 15, 14, 12, 8, 6, 6, 6, 3, 4, 3, 3]::float8[]) END;
-- +step
-- A person's citizen id with six random digits (not unique: residents get unique ones).
CREATE FUNCTION sample_rec.citizen_id(k bigint, salt int, born date, female bool) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN sample_rec.cid_prefix(sample_rec.birth_province(sample_rec.r(k, salt), born), born, female)
    || lpad(floor(sample_rec.r(k, salt + 1) * 1000000)::int::text, 6, '0');
-- +step
-- Villages (thôn) of the delta, and streets of the former provincial capital.
CREATE FUNCTION sample_rec.villages() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['Đông', 'Tây', 'Nam', 'Bắc', 'Thượng', 'Hạ', 'Trung', 'An Lạc', 'Phú Lộc', 'Quang Tiền', 'Đồng Lạc', 'Kim Đôi',
             'Mậu Tài', 'Ngọc Lâm', 'Văn Thai', 'Cẩm Khê', 'Hà Tràng', 'Lương Xá', 'Phương Độ', 'Tiền Trung', 'Đào Xá',
             'Hoàng Xá', 'Kiệt Thượng', 'Phú Tảo', 'Vạn Tải', 'Hậu Bổng', 'Mộ Trạch', 'Thanh Liễu', 'Lạc Dục', 'Hoạch Trạch',
             'Đông Giao', 'Quảng Cư', 'Phù Tải', 'Bình Lao', 'Nhân Lý', 'Kênh Triều', 'Tranh Đấu', 'Đồng Bào', 'Phúc Lâm',
             'Hội Yên', 'Trại Mát', 'An Thái', 'Tào Khê', 'Lai Khê', 'Lương Ngọc', 'Nhữ Thị', 'Mỹ Xá', 'Quý Dương', 'Thọ Xuân',
             'Đại Điền', 'Cao Xá', 'Cúc Bồ', 'Bùi Xá', 'Lang Can', 'Tân Phong', 'Hưng Thịnh', 'Tiên Kiều', 'Ninh Xá', 'Phạm Xá',
             'Đông Xuyên', 'Mạc Xá', 'Lam Cầu', 'Hòa Ché', 'Triều Dương'];
-- +step
CREATE FUNCTION sample_rec.streets() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['Nguyễn Lương Bằng', 'Trần Hưng Đạo', 'Lê Thanh Nghị', 'Điện Biên Phủ', 'Hồng Quang', 'Bạch Đằng', 'Thống Nhất',
             'Nguyễn Trãi', 'Chi Lăng', 'Quang Trung', 'Trần Phú', 'Phạm Ngũ Lão', 'Ngô Quyền', 'Lê Lợi', 'Nguyễn Văn Linh',
             'Thanh Niên', 'Tuệ Tĩnh', 'Yết Kiêu', 'Chương Dương', 'Võ Nguyên Giáp', 'Lý Thường Kiệt', 'Trần Nhân Tông',
             'Nguyễn Thị Duệ', 'Vũ Hựu', 'Ngô Gia Tự', 'Nguyễn Du', 'Hoàng Văn Thụ', 'Lê Quý Đôn', 'Mạc Đĩnh Chi', 'Phạm Sư Mạnh'];
-- +step
-- A postal address in a ward of now: a house on a street in a phường, a village in a xã.
CREATE FUNCTION sample_rec.address(k bigint, salt int, ward_type text, ward text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN ward_type = 'Phường'
    THEN 'Số ' || (1 + floor(sample_rec.r(k, salt) * 280))::int::text || ', đường ' || sample_rec.one(sample_rec.r(k, salt + 1), sample_rec.streets())
    ELSE 'Thôn ' || sample_rec.one(sample_rec.r(k, salt + 1), sample_rec.villages()) END
    || ', ' || ward || ', thành phố Hải Phòng';

-- +step
-- The pre-2025 communes (all 265 polygons of 2008; 169 carry the GSO code of 2025-03-01, the
-- others were merged into them since) and the post-2025 wards, in VN-2000 for areas.
CREATE TABLE sample_rec.old AS
SELECT fid, code, name, district, district_code,
       name LIKE 'Phường%' OR name LIKE 'Thị trấn%' AS urban,
       regexp_replace(name, '^(Phường|Xã|Thị trấn) ', '') AS base,
       lower(left(name, 1)) || substr(name, 2) AS in_text,
       regexp_replace(district, '^(Huyện|Thành phố|Thị xã) ', '') AS district_base,
       ST_Transform(geom, 9209) AS g
FROM data.communes;
-- +step
CREATE TABLE sample_rec.wards AS
SELECT code, name, type, area_km2, lower(left(name, 1)) || substr(name, 2) AS in_text, ST_Transform(geom, 9209) AS g
FROM data.wards;
-- +step
-- Every pair of a pre-2025 polygon and a ward that overlap, with the shared area.
CREATE TABLE sample_rec.overlap AS
SELECT o.fid, o.code AS old_code, w.code AS new_code,
       ST_Area(ST_Intersection(o.g, w.g)) AS a, ST_Area(o.g) AS old_a, ST_Area(w.g) AS new_a
FROM sample_rec.old o JOIN sample_rec.wards w ON ST_Intersects(o.g, w.g);
-- +step
-- Where each pre-2025 polygon is now: the ward that took the largest part of it.
CREATE TABLE sample_rec.old2new AS
SELECT DISTINCT ON (fid) fid, old_code, new_code FROM sample_rec.overlap ORDER BY fid, a DESC, new_code;
-- +step
-- The former district of each ward: the one whose communes gave it the largest area.
CREATE TABLE sample_rec.ward_district AS
SELECT DISTINCT ON (x.new_code) x.new_code AS code, o.district, o.district_code, o.district_base
FROM (SELECT fid, new_code, a FROM sample_rec.overlap) x JOIN sample_rec.old o USING (fid)
ORDER BY x.new_code, x.a DESC;
-- +step
-- The coded pre-2025 communes in a fixed order, with cumulative weights by area (people live
-- more densely in towns) for weighted draws.
CREATE TABLE sample_rec.coded AS
SELECT row_number() OVER (ORDER BY o.code)::int AS k, o.fid, o.code, o.name, o.base, o.in_text, o.urban, o.district,
       o.district_code, o.district_base, n.new_code,
       sum(ST_Area(o.g) * CASE WHEN o.urban THEN 3 ELSE 1 END) OVER (ORDER BY o.code) / sum(ST_Area(o.g) * CASE WHEN o.urban THEN 3 ELSE 1 END) OVER () AS cum,
       ST_Area(o.g) / 1e6 AS area_km2
FROM sample_rec.old o JOIN sample_rec.old2new n USING (fid) WHERE o.code IS NOT NULL;
-- +step
-- The communes of 2008 without a code were merged into a neighbour of the same district before
-- 2025; the nearest coded commune stands in for that neighbour when a figure needs the whole
-- territory of a commune (its labour force).
CREATE TABLE sample_rec.coded_area AS
SELECT c.code, c.area_km2 + COALESCE(sum(ST_Area(u.g)) / 1e6, 0) AS area_km2
FROM sample_rec.coded c
LEFT JOIN LATERAL (
    SELECT u.g FROM sample_rec.old u
    WHERE u.code IS NULL AND (SELECT n.code FROM sample_rec.old n WHERE n.code IS NOT NULL AND n.district = u.district
                              ORDER BY ST_Distance(n.g, u.g), ST_Distance(ST_Centroid(n.g), ST_Centroid(u.g)) LIMIT 1) = c.code) u ON true
GROUP BY c.code, c.area_km2;
-- +step
CREATE TABLE sample_rec.coded_cum AS SELECT array_agg(cum ORDER BY k) AS cum, count(*)::int AS n FROM sample_rec.coded;
-- +step
-- The wards in a fixed order with cumulative weights by population (phường are denser).
CREATE TABLE sample_rec.ward_pick AS
SELECT row_number() OVER (ORDER BY code)::int AS k, code, name, type, in_text,
       sum(area_km2 * CASE WHEN type = 'Phường' THEN 2.8 ELSE 1 END) OVER (ORDER BY code) / sum(area_km2 * CASE WHEN type = 'Phường' THEN 2.8 ELSE 1 END) OVER () AS cum,
       sum(area_km2 * CASE WHEN type = 'Phường' THEN 5 ELSE 1 END) OVER (ORDER BY code) / sum(area_km2 * CASE WHEN type = 'Phường' THEN 5 ELSE 1 END) OVER () AS cum_business
FROM sample_rec.wards;
-- +step
CREATE TABLE sample_rec.ward_cum AS
SELECT array_agg(cum ORDER BY k) AS cum, array_agg(cum_business ORDER BY k) AS cum_business, count(*)::int AS n FROM sample_rec.ward_pick;
-- +step
-- A district's name as it was on a date: Chí Linh became a city on 2019-03-01 and Kinh Môn a
-- town on 2020-02-01; the districts were abolished on 2025-07-01.
CREATE FUNCTION sample_rec.district_at(district text, d date) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN district = 'Thị xã Chí Linh' AND d >= date '2019-03-01' THEN 'thành phố Chí Linh'
            WHEN district = 'Huyện Kinh Môn' AND d >= date '2020-02-01' THEN 'thị xã Kinh Môn'
            ELSE lower(left(district, 1)) || substr(district, 2) END;

-- +step
-- admin-succession: each coded pre-2025 commune and the ward(s) that took at least 5% of its
-- area on 2025-07-01, with the share of the old commune (share_pct) and of the new ward
-- (new_share_pct) the overlap makes.
CREATE TABLE sample_rec.admin_succession AS
SELECT x.old_code || '-' || x.new_code AS succession_id, x.old_code, o.name AS old_name, o.district AS old_district,
       x.new_code, w.name AS new_name,
       round((100 * x.a / x.old_a)::numeric, 2) AS share_pct,
       round((100 * x.a / x.new_a)::numeric, 2) AS new_share_pct,
       date '2025-07-01' AS effective_from
FROM sample_rec.overlap x JOIN sample_rec.old o USING (fid) JOIN sample_rec.wards w ON w.code = x.new_code
WHERE x.old_code IS NOT NULL AND x.a >= 0.05 * x.old_a;

-- +step
-- Industries (VSIC 2018, level 4: Quyết định 27/2018/QĐ-TTg) weighted toward the economy of the
-- province — garments, electronics and components in the industrial parks, food, building
-- materials (Hoàng Thạch, Phúc Sơn cement), construction, trade and road haulage — with the words
-- companies use in their names, and the median staff and charter capital (billion VND).
CREATE TABLE sample_rec.vsic (k int, code text, name text, weight float8, kind text, words text[], staff float8, capital float8);
-- +step
INSERT INTO sample_rec.vsic
SELECT row_number() OVER (), * FROM (VALUES
    ('0118', 'Trồng rau, đậu các loại và trồng hoa', 0.5, 'agri', ARRAY['Nông nghiệp công nghệ cao', 'Nông sản'], 8, 2),
    ('0146', 'Chăn nuôi gia cầm', 0.8, 'agri', ARRAY['Chăn nuôi', 'Giống gia cầm'], 10, 3),
    ('0161', 'Hoạt động dịch vụ trồng trọt', 1.0, 'agri', ARRAY['Dịch vụ nông nghiệp', 'Nông nghiệp'], 6, 1.5),
    ('0322', 'Nuôi trồng thuỷ sản nội địa', 0.5, 'agri', ARRAY['Thủy sản'], 6, 2),
    ('1010', 'Chế biến, bảo quản thịt và các sản phẩm từ thịt', 1.0, 'mfg', ARRAY['Thực phẩm', 'Chế biến thực phẩm'], 35, 10),
    ('1071', 'Sản xuất các loại bánh từ bột', 1.0, 'mfg', ARRAY['Bánh đậu xanh', 'Bánh kẹo'], 25, 3),
    ('1079', 'Sản xuất thực phẩm khác chưa được phân vào đâu', 2.0, 'mfg', ARRAY['Thực phẩm', 'Nông sản thực phẩm'], 20, 5),
    ('1080', 'Sản xuất thức ăn gia súc, gia cầm và thuỷ sản', 0.8, 'mfg', ARRAY['Thức ăn chăn nuôi', 'Dinh dưỡng nông nghiệp'], 60, 40),
    ('1410', 'May trang phục (trừ trang phục từ da lông thú)', 8.0, 'mfg', ARRAY['May mặc', 'May', 'Thời trang'], 180, 15),
    ('1520', 'Sản xuất giày dép', 0.8, 'mfg', ARRAY['Giày da', 'Giày dép'], 250, 30),
    ('2220', 'Sản xuất sản phẩm từ plastic', 1.5, 'mfg', ARRAY['Nhựa', 'Bao bì nhựa'], 40, 12),
    ('2392', 'Sản xuất vật liệu xây dựng từ đất sét', 1.0, 'mfg', ARRAY['Gạch ngói', 'Gạch tuynel'], 45, 8),
    ('2393', 'Sản xuất sản phẩm gốm sứ khác', 0.7, 'mfg', ARRAY['Gốm sứ'], 25, 4),
    ('2394', 'Sản xuất xi măng, vôi và thạch cao', 0.4, 'mfg', ARRAY['Xi măng', 'Vôi'], 150, 120),
    ('2395', 'Sản xuất bê tông và các sản phẩm từ bê tông, xi măng và thạch cao', 1.5, 'mfg', ARRAY['Bê tông', 'Bê tông thương phẩm'], 30, 10),
    ('2511', 'Sản xuất các cấu kiện kim loại', 2.0, 'mfg', ARRAY['Kết cấu thép', 'Cơ khí xây dựng'], 30, 8),
    ('2592', 'Gia công cơ khí; xử lý và tráng phủ kim loại', 2.0, 'mfg', ARRAY['Cơ khí', 'Cơ khí chính xác'], 20, 5),
    ('2610', 'Sản xuất linh kiện điện tử', 2.0, 'mfg', ARRAY['Điện tử', 'Linh kiện điện tử', 'Công nghệ điện tử'], 400, 200),
    ('2630', 'Sản xuất thiết bị truyền thông', 1.0, 'mfg', ARRAY['Thiết bị viễn thông', 'Công nghệ viễn thông'], 300, 150),
    ('2732', 'Sản xuất dây, cáp điện và điện tử khác', 1.0, 'mfg', ARRAY['Dây cáp điện', 'Cáp điện'], 120, 60),
    ('2930', 'Sản xuất phụ tùng và bộ phận phụ trợ cho xe có động cơ và động cơ xe', 1.5, 'mfg', ARRAY['Linh kiện ô tô', 'Phụ tùng ô tô'], 250, 120),
    ('3100', 'Sản xuất giường, tủ, bàn, ghế', 1.5, 'mfg', ARRAY['Nội thất', 'Đồ gỗ'], 15, 3),
    ('3511', 'Sản xuất điện', 0.15, 'mfg', ARRAY['Năng lượng', 'Điện mặt trời'], 40, 300),
    ('4101', 'Xây dựng nhà để ở', 5.0, 'con', ARRAY['Xây dựng', 'Đầu tư xây dựng', 'Xây dựng và Thương mại'], 15, 5),
    ('4102', 'Xây dựng nhà không để ở', 3.0, 'con', ARRAY['Xây dựng', 'Xây dựng công nghiệp'], 20, 8),
    ('4212', 'Xây dựng công trình đường bộ', 3.0, 'con', ARRAY['Xây dựng giao thông', 'Công trình giao thông'], 30, 10),
    ('4299', 'Xây dựng công trình kỹ thuật dân dụng khác', 3.0, 'con', ARRAY['Xây dựng', 'Xây lắp'], 20, 6),
    ('4321', 'Lắp đặt hệ thống điện', 1.5, 'con', ARRAY['Cơ điện', 'Điện lạnh'], 10, 3),
    ('4330', 'Hoàn thiện công trình xây dựng', 2.0, 'con', ARRAY['Trang trí nội thất', 'Kiến trúc và Nội thất'], 8, 2),
    ('4511', 'Bán buôn ô tô và xe có động cơ khác', 1.0, 'trade', ARRAY['Ô tô'], 25, 20),
    ('4520', 'Bảo dưỡng, sửa chữa ô tô và xe có động cơ khác', 1.5, 'svc', ARRAY['Dịch vụ ô tô', 'Gara ô tô'], 8, 2),
    ('4620', 'Bán buôn nông, lâm sản nguyên liệu (trừ gỗ, tre, nứa) và động vật sống', 1.0, 'trade', ARRAY['Nông sản', 'Thương mại nông sản'], 6, 3),
    ('4632', 'Bán buôn thực phẩm', 2.0, 'trade', ARRAY['Thực phẩm', 'Thương mại thực phẩm'], 8, 3),
    ('4641', 'Bán buôn vải, hàng may sẵn, giày dép', 2.0, 'trade', ARRAY['Thương mại', 'Dệt may'], 6, 2),
    ('4649', 'Bán buôn đồ dùng khác cho gia đình', 3.0, 'trade', ARRAY['Thương mại', 'Thương mại và Dịch vụ'], 6, 2),
    ('4659', 'Bán buôn máy móc, thiết bị và phụ tùng máy khác', 3.0, 'trade', ARRAY['Thiết bị', 'Máy và Thiết bị', 'Thiết bị công nghiệp'], 8, 3),
    ('4661', 'Bán buôn nhiên liệu rắn, lỏng, khí và các sản phẩm liên quan', 1.0, 'trade', ARRAY['Xăng dầu', 'Năng lượng'], 12, 8),
    ('4662', 'Bán buôn kim loại và quặng kim loại', 2.0, 'trade', ARRAY['Thép', 'Kim khí'], 8, 10),
    ('4663', 'Bán buôn vật liệu, thiết bị lắp đặt khác trong xây dựng', 5.0, 'trade', ARRAY['Vật liệu xây dựng', 'Thương mại vật liệu xây dựng'], 8, 4),
    ('4669', 'Bán buôn chuyên doanh khác chưa được phân vào đâu', 2.5, 'trade', ARRAY['Xuất nhập khẩu', 'Thương mại tổng hợp'], 6, 3),
    ('4711', 'Bán lẻ lương thực, thực phẩm, đồ uống, thuốc lá, thuốc lào chiếm tỷ trọng lớn trong các cửa hàng kinh doanh tổng hợp', 3.0, 'trade', ARRAY['Siêu thị', 'Thương mại'], 10, 2),
    ('4719', 'Bán lẻ khác trong các cửa hàng kinh doanh tổng hợp', 3.0, 'trade', ARRAY['Thương mại và Dịch vụ', 'Thương mại tổng hợp'], 6, 2),
    ('4730', 'Bán lẻ nhiên liệu động cơ trong các cửa hàng chuyên doanh', 1.0, 'trade', ARRAY['Xăng dầu'], 8, 3),
    ('4752', 'Bán lẻ đồ ngũ kim, sơn, kính và thiết bị lắp đặt khác trong xây dựng trong các cửa hàng chuyên doanh', 2.0, 'trade', ARRAY['Vật tư xây dựng', 'Kim khí'], 5, 1.5),
    ('4772', 'Bán lẻ thuốc, dụng cụ y tế, mỹ phẩm và vật phẩm vệ sinh trong các cửa hàng chuyên doanh', 1.5, 'trade', ARRAY['Dược phẩm', 'Thiết bị y tế'], 6, 2),
    ('4932', 'Vận tải hành khách đường bộ khác', 1.0, 'svc', ARRAY['Vận tải hành khách', 'Xe khách'], 20, 5),
    ('4933', 'Vận tải hàng hóa bằng đường bộ', 6.0, 'svc', ARRAY['Vận tải', 'Vận tải và Thương mại', 'Logistics'], 10, 4),
    ('5022', 'Vận tải hàng hóa đường thuỷ nội địa', 1.0, 'svc', ARRAY['Vận tải thủy', 'Vận tải sông'], 10, 5),
    ('5210', 'Kho bãi và lưu giữ hàng hóa', 1.0, 'svc', ARRAY['Kho vận', 'Logistics'], 15, 10),
    ('5510', 'Dịch vụ lưu trú ngắn ngày', 0.8, 'svc', ARRAY['Khách sạn', 'Du lịch'], 12, 5),
    ('5610', 'Nhà hàng và các dịch vụ ăn uống phục vụ lưu động', 1.5, 'svc', ARRAY['Nhà hàng', 'Dịch vụ ăn uống'], 10, 1.5),
    ('6201', 'Lập trình máy vi tính', 0.8, 'svc', ARRAY['Công nghệ thông tin', 'Phần mềm'], 8, 2),
    ('6810', 'Kinh doanh bất động sản, quyền sử dụng đất thuộc chủ sở hữu, chủ sử dụng hoặc đi thuê', 2.0, 'svc', ARRAY['Bất động sản', 'Đầu tư bất động sản', 'Đầu tư và Phát triển đô thị'], 6, 20),
    ('6920', 'Hoạt động liên quan đến kế toán, kiểm toán và tư vấn về thuế', 0.8, 'svc', ARRAY['Tư vấn thuế', 'Kế toán', 'Dịch vụ kế toán'], 5, 1),
    ('7110', 'Hoạt động kiến trúc và tư vấn kỹ thuật có liên quan', 2.0, 'svc', ARRAY['Tư vấn xây dựng', 'Tư vấn thiết kế', 'Tư vấn đầu tư xây dựng'], 10, 2),
    ('7730', 'Cho thuê máy móc, thiết bị và đồ dùng hữu hình khác', 1.0, 'svc', ARRAY['Cho thuê thiết bị', 'Máy xây dựng'], 6, 3),
    ('8559', 'Giáo dục khác chưa được phân vào đâu', 1.0, 'svc', ARRAY['Giáo dục', 'Đào tạo', 'Giáo dục và Đào tạo'], 8, 1)
) v(code, name, weight, kind, words, staff, capital);
-- +step
CREATE TABLE sample_rec.vsic_cum AS SELECT array_agg(c ORDER BY k) AS cum FROM (
    SELECT k, sum(weight) OVER (ORDER BY k) / sum(weight) OVER () AS c FROM sample_rec.vsic) t;
-- +step
-- The industrial parks where most factories are, in the commune of 2008 that holds them.
CREATE TABLE sample_rec.parks AS
SELECT row_number() OVER (ORDER BY p.park)::int AS k, p.park, n.new_code AS commune_code, w.type, w.in_text
FROM (VALUES ('Đại An', 'Phường Tứ Minh', 'Thành phố Hải Dương'), ('Nam Sách', 'Xã Ái Quốc', 'Thành phố Hải Dương'),
             ('Việt Hòa – Kenmark', 'Phường Việt Hòa', 'Thành phố Hải Dương'), ('Phúc Điền', 'Xã Cẩm Phúc', 'Huyện Cẩm Giàng'),
             ('Tân Trường', 'Xã Tân Trường', 'Huyện Cẩm Giàng'), ('Cẩm Điền – Lương Điền', 'Xã Lương Điền', 'Huyện Cẩm Giàng'),
             ('Lai Cách', 'Thị trấn Lai Cách', 'Huyện Cẩm Giàng'), ('Cộng Hòa', 'Phường Cộng Hòa', 'Thị xã Chí Linh'),
             ('Phú Thái', 'Thị trấn Phú Thái', 'Huyện Kim Thành'), ('Lai Vu', 'Xã Lai Vu', 'Huyện Kim Thành'),
             ('Kim Thành', 'Xã Kim Xuyên', 'Huyện Kim Thành'), ('Gia Lộc', 'Xã Gia Tân', 'Huyện Gia Lộc')) p(park, commune, district)
JOIN sample_rec.old o ON o.name = p.commune AND o.district = p.district
JOIN sample_rec.old2new n ON n.fid = o.fid
JOIN sample_rec.wards w ON w.code = n.new_code;

-- +step
-- enterprises (#12): registrations grow over the years; legal form, industry, size and status
-- are drawn per enterprise, then tax codes are given in order of registration.
CREATE TABLE sample_rec.ent0 AS
SELECT e.i, e.registered_on, v.code AS vsic_code, v.name AS vsic_name, v.kind, v.words, v.staff, v.capital,
       sample_rec.pick(sample_rec.r(e.i, 103),
           ARRAY['Công ty TNHH một thành viên', 'Công ty TNHH hai thành viên trở lên', 'Công ty cổ phần', 'Doanh nghiệp tư nhân', 'Công ty hợp danh'],
           ARRAY[44, 22, 26, 7.6, 0.4]::float8[]) AS legal_form
FROM (SELECT i, date '1995-01-01' + floor(power(sample_rec.r(i, 101), 0.55) * (sample_rec.snapshot() - date '1995-01-01' + 1))::int AS registered_on
      FROM generate_series(1, :enterprises) i) e
CROSS JOIN sample_rec.vsic_cum c
JOIN sample_rec.vsic v ON v.k = least(width_bucket(sample_rec.r(e.i, 102), c.cum) + 1, cardinality(c.cum));
-- +step
-- The check digit of a Vietnamese tax code (mã số thuế): N10 = 10 − (Σ Ni·Wi mod 11) with
-- weights 31, 29, 23, 19, 17, 13, 7, 5, 3; 10 means the nine digits cannot take a check digit.
CREATE FUNCTION sample_rec.mst_check(p text) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 10 - ((substr(p, 1, 1)::int * 31 + substr(p, 2, 1)::int * 29 + substr(p, 3, 1)::int * 23 + substr(p, 4, 1)::int * 19
            + substr(p, 5, 1)::int * 17 + substr(p, 6, 1)::int * 13 + substr(p, 7, 1)::int * 7 + substr(p, 8, 1)::int * 5
            + substr(p, 9, 1)::int * 3) % 11);
-- +step
-- Hải Dương's codes start 08; the seven digits after run up in order of registration with
-- gaps (household businesses and branches take numbers too), to about 0801400000 in 2026. A serial whose check digit would
-- be 10 is skipped for the next one: of three consecutive serials one always has a digit, and
-- gaps of at least three keep the codes unique.
CREATE TABLE sample_rec.ent1 AS
SELECT e.*, s.serial,
       CASE WHEN sample_rec.mst_check(p0) < 10 THEN p0 || sample_rec.mst_check(p0)
            WHEN sample_rec.mst_check(p1) < 10 THEN p1 || sample_rec.mst_check(p1)
            ELSE p2 || sample_rec.mst_check(p2) END AS tax_code
FROM sample_rec.ent0 e
JOIN (SELECT i, 120 + sum(3 + floor(sample_rec.r(i, 104) * 18)::int) OVER (ORDER BY registered_on, i) AS serial FROM sample_rec.ent0) s USING (i),
     LATERAL (SELECT '08' || lpad(s.serial::text, 7, '0') AS p0, '08' || lpad((s.serial + 1)::text, 7, '0') AS p1,
                     '08' || lpad((s.serial + 2)::text, 7, '0') AS p2) p;
-- +step
-- The registered names: legal form, a word of the trade and an auspicious two-syllable name
-- ("Công ty TNHH May mặc Hưng Thịnh"); a name already taken gets a distinguishing suffix, as
-- the business registry requires.
CREATE TABLE sample_rec.ent2 AS
SELECT e.*,
       CASE e.legal_form
           WHEN 'Công ty TNHH một thành viên' THEN CASE WHEN sample_rec.r(e.i, 110) < 0.4 THEN 'Công ty TNHH MTV ' ELSE 'Công ty TNHH ' END
           WHEN 'Công ty TNHH hai thành viên trở lên' THEN 'Công ty TNHH '
           WHEN 'Công ty cổ phần' THEN 'Công ty cổ phần '
           WHEN 'Doanh nghiệp tư nhân' THEN 'Doanh nghiệp tư nhân '
           ELSE 'Công ty hợp danh ' END
       || sample_rec.one(sample_rec.r(e.i, 111), e.words) || ' '
       || sample_rec.one(sample_rec.r(e.i, 112), ARRAY['Hưng', 'Phát', 'Thành', 'Minh', 'An', 'Hoàng', 'Đại', 'Việt', 'Tân', 'Hải',
              'Hồng', 'Phú', 'Bảo', 'Trường', 'Quang', 'Đức', 'Thịnh', 'Nam', 'Kim', 'Hòa', 'Thuận', 'Vạn', 'Sơn', 'Đông', 'Nhật',
              'Thái', 'Gia', 'Long', 'Tiến', 'Khánh', 'Hợp', 'Quốc', 'Thiên', 'Ngọc', 'Toàn', 'Lạc', 'Phúc', 'Anh', 'Huy', 'Hà'])
       || ' '
       || sample_rec.one(sample_rec.r(e.i, 113), ARRAY['Thịnh', 'Phát', 'Đạt', 'Long', 'Hưng', 'Anh', 'Thành', 'Phú', 'Minh', 'An',
              'Khang', 'Lộc', 'Việt', 'Dương', 'Sơn', 'Hà', 'Tiến', 'Gia', 'Quang', 'Hải', 'Cường', 'Nam', 'Bình', 'Tâm', 'Khoa',
              'Vượng', 'Hoàng', 'Trung', 'Phong', 'Linh']) AS name0
FROM sample_rec.ent1 e;
-- +step
CREATE TABLE sample_rec.enterprises AS
SELECT e.tax_code,
       CASE WHEN e.dup = 1 THEN e.name0
            ELSE e.name0 || ' ' || (ARRAY['Hải Dương', 'Việt Nam', 'Miền Bắc', 'Xứ Đông', 'Quốc tế', 'Toàn Cầu', 'Thành Đông', 'Sao Việt', 'Hồng Hà'])[1 + (e.dup - 2) % 9] END AS name,
       e.legal_form, e.vsic_code, e.vsic_name,
       -- Charter capital: log-normal around the trade's median, rounded as founders write it.
       CASE WHEN cap < 1e10 THEN greatest(round(cap / 1e8) * 1e8, 1e8) ELSE round(cap / 1e9) * 1e9 END::bigint AS charter_capital_vnd,
       greatest(1, round(e.staff * CASE WHEN e.legal_form = 'Doanh nghiệp tư nhân' THEN 0.4 ELSE 1 END * exp(0.9 * sample_rec.gauss(e.i, 121))))::int AS employees,
       e.registered_on,
       CASE WHEN e.registered_on > sample_rec.snapshot() - 365 THEN 'Đang hoạt động'
            ELSE sample_rec.pick(sample_rec.r(e.i, 123), ARRAY['Đang hoạt động', 'Tạm ngừng kinh doanh', 'Đã giải thể', 'Đang làm thủ tục giải thể'],
                 -- Older enterprises have had more time to close.
                 CASE WHEN e.registered_on < date '2005-01-01' THEN ARRAY[62, 6, 28, 4]::float8[]
                      WHEN e.registered_on < date '2015-01-01' THEN ARRAY[72, 8, 16, 4]::float8[]
                      ELSE ARRAY[84, 8, 5, 3]::float8[] END) END AS status,
       CASE WHEN in_park THEN 'Lô ' || chr(65 + floor(sample_rec.r(e.i, 125) * 8)::int) || (1 + floor(sample_rec.r(e.i, 126) * 40))::int
                             || ', Khu công nghiệp ' || pk.park || ', ' || pk.in_text || ', thành phố Hải Phòng'
            ELSE sample_rec.address(e.i, 127, w.type, w.in_text) END AS address,
       CASE WHEN in_park THEN pk.commune_code ELSE w.code END AS commune_code,
       sample_rec.full_name(e.i, 130, rep_female, rep_born) AS legal_representative,
       e.i
FROM (SELECT e.*, row_number() OVER (PARTITION BY name0 ORDER BY registered_on, i) AS dup,
             e.capital * 1e9 * CASE WHEN e.legal_form = 'Doanh nghiệp tư nhân' THEN 0.3 WHEN e.legal_form = 'Công ty cổ phần' THEN 2 ELSE 1 END
                 * exp(1.0 * sample_rec.gauss(e.i, 119)) AS cap,
             e.kind = 'mfg' AND sample_rec.r(e.i, 124) < 0.6 AS in_park,
             sample_rec.r(e.i, 128) < 0.27 AS rep_female,
             1950 + floor(sample_rec.r(e.i, 129) * 50)::int AS rep_born
      FROM sample_rec.ent2 e) e
CROSS JOIN sample_rec.ward_cum wc
JOIN sample_rec.ward_pick w ON w.k = least(width_bucket(sample_rec.r(e.i, 131), wc.cum_business) + 1, wc.n)
JOIN sample_rec.parks pk ON pk.k = 1 + floor(sample_rec.r(e.i, 132) * (SELECT count(*) FROM sample_rec.parks))::int;

-- +step
-- schools (#23): every commune of 2008 keeps its kindergarten, primary and lower-secondary
-- school under the commune's old name (a few small communes run one combined primary and
-- lower-secondary school); towns add private kindergartens; each former district has its
-- upper-secondary schools, and the city a few private multi-level schools.
CREATE TABLE sample_rec.school0 AS
SELECT o.fid * 10 + l.n AS k, o.district, o.district_code, n.new_code AS commune_code, l.level, l.ownership,
       'Trường ' || l.title || ' ' || CASE WHEN o.name LIKE 'Thị trấn%' THEN o.name ELSE o.base END || l.suffix AS name,
       o.urban
FROM sample_rec.old o JOIN sample_rec.old2new n USING (fid),
     LATERAL (SELECT sample_rec.r(o.fid, 301) < 0.07 AND NOT o.urban AS combined) c,
     LATERAL (VALUES (1, 'Mầm non', 'Mầm non', 'Công lập', '', true),
                     (2, 'Tiểu học', 'Tiểu học', 'Công lập', '', NOT c.combined),
                     (3, 'THCS', 'THCS', 'Công lập', '', NOT c.combined),
                     (4, 'Tiểu học và THCS', 'Liên cấp', 'Công lập', '', c.combined),
                     (5, 'Mầm non', 'Mầm non', 'Công lập', ' II', o.urban AND sample_rec.r(o.fid, 302) < 0.3)
             ) l(n, title, level, ownership, suffix, keep)
WHERE l.keep;
-- +step
-- Private and people-founded kindergartens in towns, named as such schools are.
INSERT INTO sample_rec.school0
SELECT o.fid * 10 + 6 + j, o.district, o.district_code, n.new_code, 'Mầm non', CASE WHEN j = 0 THEN 'Tư thục' ELSE 'Dân lập' END,
       'Trường Mầm non ' || CASE WHEN j = 0 THEN 'tư thục ' ELSE 'dân lập ' END
       || sample_rec.one(sample_rec.r(o.fid * 10 + j, 303), ARRAY['Hoa Sen', 'Sao Mai', 'Hoa Mai', 'Họa Mi', 'Ánh Dương', 'Tuổi Thơ', 'Bông Sen',
            'Hoa Hồng', 'Mặt Trời Bé Thơ', 'Thiên Thần Nhỏ', 'Ngôi Sao Nhỏ', 'Hướng Dương', 'Trúc Xanh', 'Bình Minh', 'Tuổi Hồng']),
       true
FROM sample_rec.old o JOIN sample_rec.old2new n USING (fid), generate_series(0, 1) j
WHERE o.urban AND sample_rec.r(o.fid * 10 + j, 304) < CASE WHEN j = 0 THEN 0.55 ELSE 0.12 END;
-- +step
CREATE TABLE sample_rec.upper (district text, name text, ownership text, level text);
-- +step
INSERT INTO sample_rec.upper VALUES
    ('Thành phố Hải Dương', 'THPT chuyên Nguyễn Trãi', 'Công lập', 'THPT'), ('Thành phố Hải Dương', 'THPT Hồng Quang', 'Công lập', 'THPT'),
    ('Thành phố Hải Dương', 'THPT Nguyễn Du', 'Công lập', 'THPT'), ('Thành phố Hải Dương', 'THPT Hoàng Văn Thụ', 'Công lập', 'THPT'),
    ('Thành phố Hải Dương', 'THPT Thành Đông', 'Tư thục', 'THPT'), ('Thành phố Hải Dương', 'THPT Lương Thế Vinh', 'Tư thục', 'THPT'),
    ('Thành phố Hải Dương', 'Tiểu học, THCS và THPT Marie Curie', 'Tư thục', 'Liên cấp'),
    ('Thành phố Hải Dương', 'Tiểu học và THCS Lê Quý Đôn', 'Tư thục', 'Liên cấp'),
    ('Thành phố Hải Dương', 'THCS và THPT Nguyễn Bỉnh Khiêm', 'Tư thục', 'Liên cấp'),
    ('Thị xã Chí Linh', 'THPT Chí Linh', 'Công lập', 'THPT'), ('Thị xã Chí Linh', 'THPT Phả Lại', 'Công lập', 'THPT'),
    ('Thị xã Chí Linh', 'THPT Bến Tắm', 'Công lập', 'THPT'), ('Thị xã Chí Linh', 'THPT Trần Phú', 'Công lập', 'THPT'),
    ('Thị xã Chí Linh', 'Tiểu học và THCS Chu Văn An', 'Tư thục', 'Liên cấp'),
    ('Huyện Nam Sách', 'THPT Nam Sách', 'Công lập', 'THPT'), ('Huyện Nam Sách', 'THPT Nam Sách II', 'Công lập', 'THPT'),
    ('Huyện Nam Sách', 'THPT Mạc Đĩnh Chi', 'Công lập', 'THPT'),
    ('Huyện Kinh Môn', 'THPT Kinh Môn', 'Công lập', 'THPT'), ('Huyện Kinh Môn', 'THPT Kinh Môn II', 'Công lập', 'THPT'),
    ('Huyện Kinh Môn', 'THPT Nhị Chiểu', 'Công lập', 'THPT'), ('Huyện Kinh Môn', 'THPT Phúc Thành', 'Công lập', 'THPT'),
    ('Huyện Kim Thành', 'THPT Kim Thành', 'Công lập', 'THPT'), ('Huyện Kim Thành', 'THPT Kim Thành II', 'Công lập', 'THPT'),
    ('Huyện Kim Thành', 'THPT Đồng Gia', 'Công lập', 'THPT'),
    ('Huyện Thanh Hà', 'THPT Thanh Hà', 'Công lập', 'THPT'), ('Huyện Thanh Hà', 'THPT Hà Bắc', 'Công lập', 'THPT'),
    ('Huyện Thanh Hà', 'THPT Hà Đông', 'Công lập', 'THPT'),
    ('Huyện Cẩm Giàng', 'THPT Cẩm Giàng', 'Công lập', 'THPT'), ('Huyện Cẩm Giàng', 'THPT Cẩm Giàng II', 'Công lập', 'THPT'),
    ('Huyện Cẩm Giàng', 'THPT Tuệ Tĩnh', 'Công lập', 'THPT'),
    ('Huyện Bình Giang', 'THPT Bình Giang', 'Công lập', 'THPT'), ('Huyện Bình Giang', 'THPT Kẻ Sặt', 'Công lập', 'THPT'),
    ('Huyện Bình Giang', 'THPT Đường An', 'Công lập', 'THPT'), ('Huyện Bình Giang', 'THPT Vũ Ngọc Phan', 'Tư thục', 'THPT'),
    ('Huyện Gia Lộc', 'THPT Gia Lộc', 'Công lập', 'THPT'), ('Huyện Gia Lộc', 'THPT Gia Lộc II', 'Công lập', 'THPT'),
    ('Huyện Gia Lộc', 'THPT Đoàn Thượng', 'Công lập', 'THPT'), ('Huyện Gia Lộc', 'THPT Yết Kiêu', 'Công lập', 'THPT'),
    ('Huyện Tứ Kỳ', 'THPT Tứ Kỳ', 'Công lập', 'THPT'), ('Huyện Tứ Kỳ', 'THPT Tứ Kỳ II', 'Công lập', 'THPT'),
    ('Huyện Tứ Kỳ', 'THPT Hưng Đạo', 'Công lập', 'THPT'), ('Huyện Tứ Kỳ', 'THPT Cầu Xe', 'Công lập', 'THPT'),
    ('Huyện Ninh Giang', 'THPT Ninh Giang', 'Công lập', 'THPT'), ('Huyện Ninh Giang', 'THPT Ninh Giang II', 'Công lập', 'THPT'),
    ('Huyện Ninh Giang', 'THPT Quang Trung', 'Công lập', 'THPT'), ('Huyện Ninh Giang', 'THPT Khúc Thừa Dụ', 'Công lập', 'THPT'),
    ('Huyện Thanh Miện', 'THPT Thanh Miện', 'Công lập', 'THPT'), ('Huyện Thanh Miện', 'THPT Thanh Miện II', 'Công lập', 'THPT'),
    ('Huyện Thanh Miện', 'THPT Thanh Miện III', 'Công lập', 'THPT');
-- +step
-- An upper-secondary school stands in its district's town (the first one named) or in a
-- commune of the district.
INSERT INTO sample_rec.school0
SELECT 100000 + u.n, u.district, c.district_code, c.new_code, u.level, u.ownership, 'Trường ' || u.name, c.urban
FROM (SELECT u.*, row_number() OVER (ORDER BY district, name) AS n,
             row_number() OVER (PARTITION BY district ORDER BY (level = 'THPT' AND ownership = 'Công lập') DESC) AS first
      FROM sample_rec.upper u) u,
     LATERAL (SELECT o.district_code, o.urban, n.new_code FROM sample_rec.old o JOIN sample_rec.old2new n USING (fid)
              WHERE o.district = u.district
              ORDER BY CASE WHEN u.first = 1 OR u.level = 'Liên cấp' THEN NOT o.urban END, sample_rec.r(o.fid * 1000 + u.n, 305)
              LIMIT 1) c;
-- +step
-- School codes: province 30, the district's GSO code and a number within the district.
CREATE TABLE sample_rec.schools AS
SELECT '30' || s.district_code || lpad(row_number() OVER (PARTITION BY s.district_code ORDER BY s.level, s.name, s.k)::text, 3, '0') AS school_code,
       s.name, s.level, s.ownership, s.commune_code,
       sample_rec.address(s.k, 306, w.type, w.in_text) AS address,
       CASE WHEN s.ownership <> 'Công lập' THEN 2004 + floor(sample_rec.r(s.k, 307) * 19)::int
            WHEN s.level = 'Mầm non' THEN 1975 + floor(sample_rec.r(s.k, 307) * 35)::int
            ELSE 1956 + floor(sample_rec.r(s.k, 307) * 50)::int END AS founded_year,
       s.k, s.urban
FROM sample_rec.school0 s JOIN sample_rec.wards w ON w.code = s.commune_code;
-- +step
-- school-statistics: pupils, classes and teachers per school year; kindergartens shrink with
-- the falling birth rate, secondary schools grow.
CREATE TABLE sample_rec.school_statistics AS
SELECT s.school_code || '-' || y.school_year AS stat_id, s.school_code, y.school_year, p.pupils,
       ceil(p.pupils / (p.size * (0.9 + 0.2 * sample_rec.r(s.k * 8 + y.n, 312))))::int AS classes,
       round(ceil(p.pupils / (p.size * (0.9 + 0.2 * sample_rec.r(s.k * 8 + y.n, 312)))) * p.ratio * (0.92 + 0.16 * sample_rec.r(s.k * 8 + y.n, 313)))::int AS teachers
FROM sample_rec.schools s
CROSS JOIN (VALUES (0, '2021-2022'), (1, '2022-2023'), (2, '2023-2024'), (3, '2024-2025'), (4, '2025-2026')) y(n, school_year)
CROSS JOIN LATERAL (
    SELECT greatest(25, round(m.median * CASE WHEN s.urban THEN 1.5 ELSE 1 END * CASE WHEN s.ownership = 'Công lập' THEN 1 ELSE 0.5 END
                              * exp(0.3 * sample_rec.gauss(s.k, 310)) * power(1 + m.trend, y.n) * (1 + 0.02 * sample_rec.gauss(s.k * 8 + y.n, 314))))::int AS pupils,
           m.size, m.ratio
    FROM (SELECT CASE s.level WHEN 'Mầm non' THEN 230 WHEN 'Tiểu học' THEN 620 WHEN 'THCS' THEN 480 WHEN 'THPT' THEN 1350 ELSE 800 END AS median,
                 CASE s.level WHEN 'Mầm non' THEN 26 WHEN 'Tiểu học' THEN 33 WHEN 'THCS' THEN 38 WHEN 'THPT' THEN 42 ELSE 34 END AS size,
                 CASE s.level WHEN 'Mầm non' THEN 2.0 WHEN 'Tiểu học' THEN 1.5 WHEN 'THCS' THEN 1.9 WHEN 'THPT' THEN 2.25 ELSE 1.8 END AS ratio,
                 CASE s.level WHEN 'Mầm non' THEN -0.025 WHEN 'Tiểu học' THEN 0.005 WHEN 'THCS' THEN 0.02 WHEN 'THPT' THEN 0.025 ELSE 0.01 END AS trend) m) p;

-- +step
-- labour-market (#27): the labour force survey by commune and quarter. Until 2025-Q2 the
-- figures are by commune of the time (the coded communes), from 2025-Q3 by ward. The labour
-- force follows the area and how urban the place is; unemployment is higher in towns and after
-- Tết (Q1); vacancies are more where the industrial parks are.
CREATE TABLE sample_rec.labour0 AS
SELECT c.code AS commune_code, q.n, q.quarter, q.period_start,
       a.area_km2 * CASE WHEN c.urban THEN 2300 ELSE 950 END * 0.58 AS base_lf,
       CASE WHEN c.urban THEN 2.6 ELSE 1.7 END AS base_rate,
       hashtext(c.code)::bigint AS place, EXISTS (SELECT FROM sample_rec.parks p WHERE p.commune_code = c.new_code) AS park
FROM sample_rec.coded c JOIN sample_rec.coded_area a USING (code)
CROSS JOIN (SELECT n, extract(year FROM d) || '-Q' || extract(quarter FROM d) AS quarter, d::date AS period_start
            FROM generate_series(date '2023-01-01', date '2025-04-01', interval '3 months') WITH ORDINALITY g(d, n)) q
UNION ALL
SELECT w.code, q.n, q.quarter, q.period_start,
       w.area_km2 * CASE WHEN w.type = 'Phường' THEN 1900 ELSE 800 END * 0.58,
       CASE WHEN w.type = 'Phường' THEN 2.5 ELSE 1.7 END,
       hashtext(w.code)::bigint + 1, EXISTS (SELECT FROM sample_rec.parks p WHERE p.commune_code = w.code)
FROM sample_rec.wards w
CROSS JOIN (SELECT 10 + n AS n, extract(year FROM d) || '-Q' || extract(quarter FROM d) AS quarter, d::date AS period_start
            FROM generate_series(date '2025-07-01', date '2026-07-01', interval '3 months') WITH ORDINALITY g(d, n)) q;
-- +step
CREATE TABLE sample_rec.labour_market AS
SELECT commune_code || '-' || quarter AS stat_id, commune_code, quarter, period_start, labour_force,
       labour_force - unemployed AS employed, unemployed,
       round(100.0 * unemployed / labour_force, 2) AS unemployment_rate_pct,
       vacancies,
       -- Job seekers registered with the employment service: part of the unemployed, and some
       -- employed people looking for a better job.
       round(unemployed * (0.3 + 0.3 * sample_rec.r(place * 64 + n, 405)) + labour_force * 0.002)::int AS job_seekers
FROM (
    SELECT l.commune_code, l.quarter, l.period_start, l.place, l.n, f.lf AS labour_force,
           round(f.lf * greatest(0.3, l.base_rate * (0.8 + 0.4 * sample_rec.r(l.place, 401))
                                     + CASE extract(quarter FROM l.period_start) WHEN 1 THEN 0.35 WHEN 3 THEN 0.1 ELSE 0 END
                                     - 0.02 * l.n + 0.15 * sample_rec.gauss(l.place * 64 + l.n, 402)) / 100)::int AS unemployed,
           round(f.lf * CASE WHEN l.park THEN 0.02 ELSE 0.006 END * (0.7 + 0.6 * sample_rec.r(l.place * 64 + l.n, 404)))::int AS vacancies
    FROM sample_rec.labour0 l,
         LATERAL (SELECT round(l.base_lf * (0.85 + 0.3 * sample_rec.r(l.place, 400)) * (1 + 0.004 * l.n)
                               * (1 + 0.01 * sin(pi() * l.n / 2)) * (1 + 0.005 * sample_rec.gauss(l.place * 64 + l.n, 406)))::int AS lf) f) t;

-- +step
-- cultural-villages (#28): the villages (thôn) and residential areas (khu dân cư) of each coded
-- commune, most of them recognised as cultural. The title and who grants it changed: "Làng văn
-- hóa"/"Khu dân cư văn hóa" until Decree 122/2018 (from 2018-11-01: "Thôn văn hóa"/"Tổ dân phố
-- văn hóa"), granted by the district until 2025-07-01 and by the commune since. The code is the
-- commune of the decision's date.
CREATE TABLE sample_rec.village0 AS
SELECT c.k AS ck, c.code, c.new_code, c.name, c.in_text, c.district, c.urban, v.j,
       CASE WHEN c.urban THEN 'Khu dân cư số ' || v.j ELSE 'Thôn ' || v.x END AS village
FROM sample_rec.coded c,
     LATERAL (SELECT row_number() OVER (ORDER BY sample_rec.r(c.k * 100 + o, 501)) AS j, x
              FROM unnest(sample_rec.villages()) WITH ORDINALITY u(x, o)) v
WHERE v.j <= CASE WHEN c.urban THEN 4 + floor(sample_rec.r(c.k, 502) * 7) ELSE 3 + floor(sample_rec.r(c.k, 502) * 6) END;
-- +step
CREATE TABLE sample_rec.cultural_villages AS
SELECT 'VH-' || x.code || '-' || lpad(x.j::text, 2, '0') AS village_id,
       x.village AS name,
       CASE WHEN x.recognised_on < date '2025-07-01' THEN x.code ELSE x.new_code END AS commune_code,
       CASE WHEN x.recognised_on < date '2018-11-01' THEN CASE WHEN x.urban THEN 'Khu dân cư văn hóa' ELSE 'Làng văn hóa' END
            ELSE CASE WHEN x.urban THEN 'Tổ dân phố văn hóa' ELSE 'Thôn văn hóa' END END AS title,
       x.recognised_on,
       -- One decision recognises the villages of a commune in a year.
       (100 + floor(sample_rec.r(x.ck * 100 + extract(year FROM x.recognised_on)::int, 505) * 3800))::int || '/QĐ-UBND' AS recognition_no,
       CASE WHEN x.recognised_on < date '2025-07-01' THEN 'Ủy ban nhân dân ' || sample_rec.district_at(x.district, x.recognised_on)
            ELSE 'Ủy ban nhân dân ' || w.in_text END AS issued_by,
       x.first_year AS first_recognised_year,
       1 + floor((extract(year FROM x.recognised_on) - x.first_year) * (0.6 + 0.4 * sample_rec.r(x.ck * 100 + x.j, 507)))::int AS years_recognised
FROM (SELECT v.*, d.recognised_on,
             greatest(2000, extract(year FROM d.recognised_on)::int - floor(sample_rec.r(v.ck * 100 + v.j, 506) * 20)::int) AS first_year
      FROM sample_rec.village0 v,
           -- Decisions are signed in December, or early in the following year.
           LATERAL (SELECT CASE WHEN sample_rec.r(v.ck * 100 + v.j, 504) < 0.75
                                THEN make_date(y, 12, 1) + floor(sample_rec.r(v.ck * 100 + v.j, 508) * 30)::int
                                ELSE make_date(y + 1, 1, 5) + floor(sample_rec.r(v.ck * 100 + v.j, 508) * 50)::int END AS recognised_on
                    FROM (SELECT 2000 + floor(power(sample_rec.r(v.ck * 100 + v.j, 503), 0.7) * 26)::int AS y) yy) d
      WHERE sample_rec.r(v.ck * 100 + v.j, 509) < 0.82) x
JOIN sample_rec.wards w ON w.code = x.new_code;

-- +step
-- birth-registrations (#16): births registered by the communes since 2019, most within the 60
-- days the law allows, some late. The register is kept by commune and year, so the number is
-- the commune code, the entry and the year ("10945-123/2024"); the commune is the one of the
-- registration date. The child takes the father's family name; a few births have no father
-- registered.
CREATE TABLE sample_rec.birth0 AS
SELECT b.i, b.registered_on, b.registered_on - b.delay AS birth_date, c.code, c.new_code, c.name AS commune, c.in_text, c.district_base,
       sample_rec.r(b.i, 603) < 0.47 AS female, sample_rec.r(b.i, 604) < 0.03 AS no_father
FROM (SELECT i, date '2019-01-01' + floor(sample_rec.r(i, 601) * (sample_rec.snapshot() - date '2019-01-01' + 1))::int AS registered_on,
             CASE WHEN sample_rec.r(i, 602) < 0.86 THEN 1 + floor(sample_rec.r(i, 605) * 60)
                  WHEN sample_rec.r(i, 602) < 0.97 THEN 61 + floor(sample_rec.r(i, 605) * 300)
                  ELSE 365 + floor(sample_rec.r(i, 605) * 2500) END::int AS delay
      FROM generate_series(1, :births) i) b
CROSS JOIN sample_rec.coded_cum cc
JOIN sample_rec.coded c ON c.k = least(width_bucket(sample_rec.r(b.i, 606), cc.cum) + 1, cc.n);
-- +step
CREATE TABLE sample_rec.birth_registrations AS
SELECT x.commune_code || '-' || row_number() OVER (PARTITION BY x.commune_code, extract(year FROM x.registered_on) ORDER BY x.registered_on, x.i)
           || '/' || extract(year FROM x.registered_on) AS registration_no,
       CASE WHEN x.no_father THEN x.mother_family ELSE x.father_family END || ' '
           || sample_rec.middle_name(sample_rec.r(x.i, 611), sample_rec.r(x.i, 612), x.female, extract(year FROM x.birth_date)::int) || ' '
           || sample_rec.given_name(sample_rec.r(x.i, 613), x.female) AS child_name,
       CASE WHEN x.female THEN 'Nữ' ELSE 'Nam' END AS child_sex,
       x.birth_date,
       sample_rec.pick(sample_rec.r(x.i, 614),
           ARRAY['Bệnh viện Sản Nhi Hải Dương', 'Bệnh viện Đa khoa tỉnh Hải Dương', 'Trung tâm Y tế ' || x.district_base,
                 'Trạm Y tế ' || x.in_text, 'Bệnh viện Phụ sản Hà Nội', 'Bệnh viện Phụ sản Hải Phòng', 'Tại nhà, ' || x.in_text],
           ARRAY[36, 16, 30, 8, 5, 4, 1]::float8[]) AS place_of_birth,
       -- The personal identification number the registration gives the child.
       sample_rec.cid_prefix(CASE WHEN x.registered_on >= date '2025-07-01' THEN '031' ELSE '030' END, x.birth_date, x.female)
           || lpad(floor(sample_rec.r(x.i, 615) * 1000000)::int::text, 6, '0') AS child_citizen_id,
       CASE WHEN NOT x.no_father THEN x.father_family || ' ' || sample_rec.middle_name(sample_rec.r(x.i, 621), sample_rec.r(x.i, 622), false, extract(year FROM x.father_born)::int)
           || ' ' || sample_rec.given_name(sample_rec.r(x.i, 623), false) END AS father_name,
       CASE WHEN NOT x.no_father THEN sample_rec.citizen_id(x.i, 624, x.father_born, false) END AS father_citizen_id,
       sample_rec.full_name(x.i, 630, true, extract(year FROM x.mother_born)::int) AS mother_name,
       sample_rec.citizen_id(x.i, 634, x.mother_born, true) AS mother_citizen_id,
       x.registered_on, x.commune_code
FROM (SELECT b.*, CASE WHEN b.registered_on < date '2025-07-01' THEN b.code ELSE b.new_code END AS commune_code,
             sample_rec.family_name(sample_rec.r(b.i, 620)) AS father_family,
             sample_rec.family_name(sample_rec.r(b.i, 630)) AS mother_family,
             b.birth_date - (365.25 * (22 + sample_rec.r(b.i, 625) * 18))::int AS father_born,
             b.birth_date - (365.25 * (19 + sample_rec.r(b.i, 635) * 18))::int AS mother_born
      FROM sample_rec.birth0 b) x;

-- +step
-- residents (#1): people living in the province, by the age pyramid of the 2019 census, in the
-- wards by population. Their citizen ids are unique: within each six-digit prefix (province,
-- century and sex, year) the k-th person gets serial (k·738211 + offset) mod 10⁶, a bijection
-- while a prefix holds fewer than a million people. Generated in one INSERT … SELECT so that a
-- million residents take seconds.
CREATE TABLE sample_rec.residents0 AS
SELECT a.i, a.female, a.born,
       sample_rec.cid_prefix(sample_rec.birth_province(sample_rec.r(a.i, 203), a.born), a.born, a.female) AS prefix,
       least(width_bucket(sample_rec.r(a.i, 204), wc.cum) + 1, wc.n) AS wk
FROM (SELECT i, sample_rec.r(i, 201) < 0.504 AS female,
             sample_rec.snapshot() - floor(365.25 * (5 * width_bucket(sample_rec.r(i, 202),
                 sample_rec.cumsum(ARRAY[6.9, 7.6, 7.9, 6.9, 6.6, 7.4, 8.3, 8.0, 7.4, 6.9, 6.4, 5.8, 5.0, 4.0, 2.8, 1.8, 1.2, 0.7, 0.35, 0.1]::float8[]))
                 + 5 * sample_rec.r(i, 205)))::int AS born
      -- OFFSET 0 keeps the subquery: flattened, its expressions would be computed once per use.
      FROM generate_series(1, :residents) i OFFSET 0) a
CROSS JOIN sample_rec.ward_cum wc;
-- +step
CREATE TABLE sample_rec.residents AS
SELECT p.prefix || lpad(((row_number() OVER (PARTITION BY p.prefix ORDER BY p.i) * 738211
                          + floor(sample_rec.r(hashtext(p.prefix), 209) * 1000000)::bigint) % 1000000)::text, 6, '0') AS citizen_id,
       sample_rec.full_name(p.i, 210, p.female, extract(year FROM p.born)::int) AS full_name,
       p.born AS birth_date,
       CASE WHEN p.female THEN 'Nữ' ELSE 'Nam' END AS sex,
       sample_rec.pick(sample_rec.r(p.i, 215), ARRAY['Kinh', 'Tày', 'Mường', 'Nùng', 'Hoa', 'Sán Dìu', 'Thái', 'Dao', 'Sán Chay'],
                       ARRAY[99.55, 0.1, 0.08, 0.06, 0.08, 0.06, 0.03, 0.03, 0.01]::float8[]) AS ethnicity,
       sample_rec.pick(sample_rec.r(p.i, 216), ARRAY['Không', 'Phật giáo', 'Công giáo', 'Tin lành', 'Cao Đài'],
                       ARRAY[90.5, 4.8, 4.5, 0.15, 0.05]::float8[]) AS religion,
       sample_rec.address(p.i, 217, w.type, w.in_text) AS permanent_address,
       w.code AS commune_code,
       p.i AS n
FROM sample_rec.residents0 p JOIN sample_rec.ward_pick w ON w.k = p.wk;

-- +step
-- What a school teaches: the majors of a degree from an institution.
CREATE FUNCTION sample_rec.majors(prefix text, code text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN prefix = 'ThS' THEN CASE code
        WHEN 'KHA' THEN ARRAY['Quản lý kinh tế', 'Kinh tế học'] WHEN 'SPH' THEN ARRAY['Quản lý giáo dục', 'Lý luận và phương pháp dạy học']
        WHEN 'BKA' THEN ARRAY['Kỹ thuật điện', 'Kỹ thuật cơ khí'] WHEN 'HVN' THEN ARRAY['Khoa học cây trồng', 'Quản lý đất đai']
        WHEN 'TMA' THEN ARRAY['Quản trị kinh doanh'] ELSE ARRAY['Quản lý công'] END
    ELSE CASE code
        WHEN 'DKT' THEN ARRAY['Kế toán', 'Quản trị kinh doanh', 'Tài chính – Ngân hàng', 'Kinh tế']
        WHEN 'SDU' THEN ARRAY['Công nghệ kỹ thuật điện, điện tử', 'Công nghệ kỹ thuật cơ khí', 'Công nghệ thông tin', 'Kế toán']
        WHEN 'DKY' THEN ARRAY['Điều dưỡng', 'Kỹ thuật xét nghiệm y học', 'Kỹ thuật hình ảnh y học']
        WHEN 'DDB' THEN ARRAY['Quản trị kinh doanh', 'Luật kinh tế', 'Dược học']
        WHEN 'KHA' THEN ARRAY['Kinh tế', 'Quản trị kinh doanh', 'Kế toán', 'Tài chính – Ngân hàng']
        WHEN 'SPH' THEN ARRAY['Sư phạm Toán học', 'Sư phạm Ngữ văn', 'Giáo dục Tiểu học', 'Giáo dục Mầm non']
        WHEN 'HVN' THEN ARRAY['Kinh tế nông nghiệp', 'Khoa học cây trồng', 'Chăn nuôi', 'Thú y']
        WHEN 'TMA' THEN ARRAY['Quản trị kinh doanh', 'Kế toán', 'Thương mại điện tử', 'Marketing']
        WHEN 'HHA' THEN ARRAY['Kinh tế vận tải biển', 'Logistics và quản lý chuỗi cung ứng', 'Điều khiển tàu biển']
        WHEN 'DCN' THEN ARRAY['Công nghệ thông tin', 'Kế toán', 'Ngôn ngữ Anh', 'Công nghệ kỹ thuật ô tô']
        WHEN 'BKA' THEN ARRAY['Kỹ thuật điện', 'Kỹ thuật cơ khí', 'Khoa học máy tính', 'Kỹ thuật điện tử – viễn thông']
        WHEN 'XDA' THEN ARRAY['Kỹ thuật xây dựng', 'Kiến trúc', 'Kỹ thuật cấp thoát nước']
        WHEN 'GHA' THEN ARRAY['Kỹ thuật xây dựng công trình giao thông', 'Kỹ thuật ô tô']
        WHEN 'CHD' THEN ARRAY['Kế toán', 'Điện công nghiệp', 'Giáo dục Mầm non']
        WHEN 'CDT' THEN ARRAY['Hướng dẫn du lịch', 'Quản trị khách sạn', 'Kỹ thuật chế biến món ăn']
        ELSE ARRAY['Quản lý công'] END END;

-- +step
-- diplomas (#24): diplomas and certificates of residents, issued at the age each is earned:
-- upper-secondary at 18 (by the Department of Education; Hải Phòng's since the merger),
-- lower-secondary at 15 (by the district's education office, until the diploma was abolished
-- after 2025), degrees at 20–40, language and IT certificates at any adult age (the national
-- A/B/C certificates until 2015, then the six-level framework and the IT skills standard).
-- Serials read kind-year-issuer-number ("THPT-2019-030-012345").
CREATE TABLE sample_rec.diploma0 AS
SELECT d.i, p.citizen_id, p.full_name, p.birth_date, p.commune_code, k.prefix,
       CASE WHEN k.prefix IN ('NN', 'TH')
            THEN p.birth_date + (365.25 * (k.age_min + (k.age_max - k.age_min) * sample_rec.r(d.i, 703)))::int
            ELSE make_date(extract(year FROM p.birth_date)::int + k.age_min + floor((k.age_max - k.age_min + 1) * sample_rec.r(d.i, 703))::int, k.month, 1)
                 + floor(sample_rec.r(d.i, 704) * 40)::int END AS issued_on
FROM generate_series(1, :diplomas * 3) d(i)
JOIN sample_rec.residents p ON p.n = 1 + floor(sample_rec.r(d.i, 701) * :residents)::int
CROSS JOIN LATERAL (
    SELECT * FROM (VALUES ('THPT', 18, 18, 6), ('THCS', 15, 15, 6), ('CN', 22, 24, 7), ('KS', 23, 25, 7), ('ThS', 25, 40, 10),
                          ('CD', 20, 23, 7), ('NN', 19, 45, 1), ('TH', 18, 45, 1)) v(prefix, age_min, age_max, month)
    WHERE v.prefix = sample_rec.pick(sample_rec.r(d.i, 702), ARRAY['THPT', 'THCS', 'CN', 'KS', 'ThS', 'CD', 'NN', 'TH'],
                                     ARRAY[34, 10, 17, 6, 3, 6, 12, 12]::float8[])) k;
-- +step
CREATE TABLE sample_rec.diploma1 AS
SELECT d.*, CASE d.prefix
        WHEN 'THPT' THEN 'Bằng tốt nghiệp trung học phổ thông'
        WHEN 'THCS' THEN 'Bằng tốt nghiệp trung học cơ sở'
        WHEN 'CN' THEN 'Bằng cử nhân'
        WHEN 'KS' THEN 'Bằng kỹ sư'
        WHEN 'ThS' THEN 'Bằng thạc sĩ'
        WHEN 'CD' THEN 'Bằng tốt nghiệp cao đẳng'
        WHEN 'NN' THEN CASE WHEN d.issued_on < date '2015-01-01' THEN 'Chứng chỉ tiếng Anh trình độ ' || sample_rec.pick(sample_rec.r(d.i, 705), ARRAY['A', 'B', 'C'], ARRAY[40, 50, 10]::float8[])
                            ELSE 'Chứng chỉ ngoại ngữ ' || sample_rec.pick(sample_rec.r(d.i, 705), ARRAY['A2', 'B1', 'B2'], ARRAY[25, 55, 20]::float8[]) END
        ELSE CASE WHEN d.issued_on < date '2015-01-01' THEN 'Chứng chỉ tin học trình độ ' || sample_rec.pick(sample_rec.r(d.i, 705), ARRAY['A', 'B'], ARRAY[80, 20]::float8[])
                  ELSE 'Chứng chỉ ứng dụng công nghệ thông tin ' || sample_rec.pick(sample_rec.r(d.i, 705), ARRAY['cơ bản', 'nâng cao'], ARRAY[88, 12]::float8[]) END
    END AS kind,
    iss.name AS issuing_institution, iss.code AS issuer_code,
    CASE WHEN d.prefix IN ('CN', 'KS', 'ThS', 'CD') THEN sample_rec.one(sample_rec.r(d.i, 707), sample_rec.majors(d.prefix, iss.code)) END AS major
FROM sample_rec.diploma0 d
LEFT JOIN sample_rec.ward_district wd ON wd.code = d.commune_code
CROSS JOIN LATERAL (
    SELECT CASE WHEN d.prefix = 'THPT' OR (d.prefix IN ('NN', 'TH') AND d.issued_on < date '2015-01-01')
                THEN 'Sở Giáo dục và Đào tạo ' || CASE WHEN d.issued_on < date '2025-07-01' THEN 'Hải Dương' ELSE 'Hải Phòng' END
                WHEN d.prefix = 'THCS' THEN 'Phòng Giáo dục và Đào tạo ' || sample_rec.district_at(wd.district, d.issued_on)
                ELSE names[1 + floor(sample_rec.r(d.i, 706) * cardinality(names))::int] END AS name,
           CASE WHEN d.prefix = 'THPT' OR (d.prefix IN ('NN', 'TH') AND d.issued_on < date '2015-01-01')
                THEN CASE WHEN d.issued_on < date '2025-07-01' THEN '030' ELSE '031' END
                WHEN d.prefix = 'THCS' THEN wd.district_code
                ELSE codes[1 + floor(sample_rec.r(d.i, 706) * cardinality(names))::int] END AS code
    FROM (SELECT CASE d.prefix
            WHEN 'CN' THEN ARRAY['Trường Đại học Hải Dương', 'Trường Đại học Sao Đỏ', 'Trường Đại học Kỹ thuật Y tế Hải Dương', 'Trường Đại học Thành Đông',
                                 'Trường Đại học Kinh tế Quốc dân', 'Trường Đại học Sư phạm Hà Nội', 'Học viện Nông nghiệp Việt Nam', 'Trường Đại học Thương mại',
                                 'Trường Đại học Hàng hải Việt Nam', 'Trường Đại học Công nghiệp Hà Nội']
            WHEN 'KS' THEN ARRAY['Trường Đại học Bách khoa Hà Nội', 'Trường Đại học Sao Đỏ', 'Trường Đại học Hàng hải Việt Nam', 'Trường Đại học Công nghiệp Hà Nội',
                                 'Trường Đại học Xây dựng Hà Nội', 'Trường Đại học Giao thông vận tải', 'Học viện Nông nghiệp Việt Nam']
            WHEN 'ThS' THEN ARRAY['Trường Đại học Kinh tế Quốc dân', 'Trường Đại học Sư phạm Hà Nội', 'Trường Đại học Bách khoa Hà Nội', 'Học viện Nông nghiệp Việt Nam',
                                  'Trường Đại học Thương mại', 'Học viện Hành chính Quốc gia']
            WHEN 'CD' THEN ARRAY['Trường Cao đẳng Hải Dương', 'Trường Cao đẳng Du lịch và Công thương']
            WHEN 'NN' THEN ARRAY['Trường Đại học Ngoại ngữ, Đại học Quốc gia Hà Nội', 'Trường Đại học Hà Nội', 'Trường Đại học Sư phạm Hà Nội']
            ELSE ARRAY['Trường Đại học Sao Đỏ', 'Trường Đại học Hải Dương', 'Trường Đại học Thành Đông'] END AS names,
          CASE d.prefix
            WHEN 'CN' THEN ARRAY['DKT', 'SDU', 'DKY', 'DDB', 'KHA', 'SPH', 'HVN', 'TMA', 'HHA', 'DCN']
            WHEN 'KS' THEN ARRAY['BKA', 'SDU', 'HHA', 'DCN', 'XDA', 'GHA', 'HVN']
            WHEN 'ThS' THEN ARRAY['KHA', 'SPH', 'BKA', 'HVN', 'TMA', 'HCH']
            WHEN 'CD' THEN ARRAY['CHD', 'CDT']
            WHEN 'NN' THEN ARRAY['QHF', 'NHF', 'SPH']
            ELSE ARRAY['SDU', 'DKT', 'DDB'] END AS codes) a) iss
WHERE d.issued_on BETWEEN date '1990-01-01' AND sample_rec.snapshot()
  AND NOT (d.prefix = 'THCS' AND d.issued_on >= date '2026-01-01')
  AND NOT (d.prefix = 'CD' AND d.issued_on < date '1995-01-01');
-- +step
CREATE TABLE sample_rec.diplomas AS
SELECT d.prefix || '-' || extract(year FROM d.issued_on) || '-' || d.issuer_code || '-'
           || lpad((row_number() OVER (PARTITION BY d.prefix, extract(year FROM d.issued_on), d.issuer_code ORDER BY d.issued_on, d.i)
                    + floor(sample_rec.r(hashtext(d.prefix || d.issuer_code) + extract(year FROM d.issued_on)::int, 708) * 20000))::text, 6, '0') AS diploma_no,
       d.kind, d.major, d.full_name AS holder_name, d.citizen_id AS holder_citizen_id, d.birth_date AS holder_birth_date,
       d.issuing_institution, d.issued_on,
       CASE WHEN d.prefix IN ('CN', 'KS', 'CD') THEN sample_rec.pick(sample_rec.r(d.i, 709), ARRAY['Xuất sắc', 'Giỏi', 'Khá', 'Trung bình'], ARRAY[5, 24, 55, 16]::float8[])
            WHEN d.prefix = 'THCS' OR (d.prefix = 'THPT' AND d.issued_on < date '2015-01-01')
                THEN sample_rec.pick(sample_rec.r(d.i, 709), ARRAY['Giỏi', 'Khá', 'Trung bình'], ARRAY[20, 50, 30]::float8[]) END AS classification
FROM (SELECT * FROM sample_rec.diploma1 ORDER BY i LIMIT :diplomas) d;

-- +step
-- driving-licences (#25): licences of adult residents. Until 2024 the classes of the 2008 law
-- (A1, A2, B1, B2, C, D, E, FC), from 2025-01-01 those of the Law on Road Traffic Order and
-- Safety 2024 (A1, A, B1, B, C1, C, D1, D2, D, BE, C1E, CE, D1E, D2E, DE). Motorcycle
-- licences (A1, A2, A; and B1 under the new law) never expire; the old B1 until 55 (women) or
-- 60 (men), B2, B and C1 after 10 years, the others after 5. Issued by the Department of
-- Transport until 2025-03-01, then by the traffic police (of Hải Phòng since the merger).
CREATE TABLE sample_rec.licence0 AS
SELECT d.i, p.citizen_id, p.full_name, p.birth_date, p.sex,
       greatest(p.birth_date + 6575, date '1996-01-01')
           + floor(sample_rec.r(d.i, 803) * (sample_rec.snapshot() - greatest(p.birth_date + 6575, date '1996-01-01')))::int AS issued_on
FROM generate_series(1, :licences * 2) d(i)
JOIN sample_rec.residents p ON p.n = 1 + floor(sample_rec.r(d.i, 801) * :residents)::int
WHERE p.birth_date + 6575 < sample_rec.snapshot() - 30 AND p.birth_date > date '1940-01-01';
-- +step
CREATE TABLE sample_rec.licence1 AS
SELECT l.*, CASE
        -- Heavier classes need older drivers: C 21, D (and D1, D2) 24, E and DE 27.
        WHEN c.cls IN ('C') AND age < 21 OR c.cls IN ('D', 'FC', 'D1', 'D2') AND age < 24 OR c.cls IN ('E', 'DE', 'D1E', 'D2E', 'CE') AND age < 27
            THEN CASE WHEN l.issued_on < date '2025-01-01' THEN 'B2' ELSE 'B' END
        ELSE c.cls END AS licence_class
FROM (SELECT l.*, extract(year FROM age(l.issued_on, l.birth_date))::int AS age FROM sample_rec.licence0 l) l,
     LATERAL (SELECT CASE WHEN l.issued_on < date '2025-01-01'
                  THEN sample_rec.pick(sample_rec.r(l.i, 804), ARRAY['A1', 'A2', 'B1', 'B2', 'C', 'D', 'E', 'FC'], ARRAY[56, 1.2, 4, 30, 5.5, 1.3, 1, 1]::float8[])
                  ELSE sample_rec.pick(sample_rec.r(l.i, 804), ARRAY['A1', 'A', 'B1', 'B', 'C1', 'C', 'D1', 'D2', 'D', 'BE', 'C1E', 'CE', 'D1E', 'D2E', 'DE'],
                                       ARRAY[45, 6, 0.5, 38, 5, 2, 0.5, 0.8, 0.5, 0.2, 0.2, 0.6, 0.05, 0.05, 0.1]::float8[]) END AS cls) c;
-- +step
-- Licence numbers: the issuing province (30 Hải Dương, 31 Hải Phòng) and ten digits, unique by
-- the same bijection as citizen ids.
CREATE TABLE sample_rec.driving_licences AS
SELECT l.prov || lpad(((row_number() OVER (PARTITION BY l.prov ORDER BY l.issued_on, l.i) * 7368787
                        + floor(sample_rec.r(l.prov::bigint, 806) * 1e9)::bigint) % 10000000000)::text, 10, '0') AS licence_no,
       l.full_name AS holder_name, l.citizen_id AS holder_citizen_id, l.birth_date AS holder_birth_date,
       l.licence_class, l.issued_on,
       CASE WHEN l.licence_class IN ('A1', 'A2', 'A') OR (l.licence_class = 'B1' AND l.issued_on >= date '2025-01-01') THEN NULL
            -- The old B1 ran to 55 (women) or 60 (men), or 10 years when issued after 45 or 50.
            WHEN l.licence_class = 'B1' THEN CASE WHEN l.age >= CASE WHEN l.sex = 'Nữ' THEN 45 ELSE 50 END THEN l.issued_on + interval '10 years'
                                                  ELSE l.birth_date + make_interval(years => CASE WHEN l.sex = 'Nữ' THEN 55 ELSE 60 END) END::date
            WHEN l.licence_class IN ('B2', 'B', 'C1') THEN (l.issued_on + interval '10 years')::date
            ELSE (l.issued_on + interval '5 years')::date END AS expires_on,
       CASE WHEN l.issued_on < date '2025-03-01' THEN 'Sở Giao thông vận tải Hải Dương'
            WHEN l.issued_on < date '2025-07-01' THEN 'Phòng Cảnh sát giao thông, Công an tỉnh Hải Dương'
            ELSE 'Phòng Cảnh sát giao thông, Công an thành phố Hải Phòng' END AS issuing_authority
FROM (SELECT l.*, CASE WHEN l.issued_on < date '2025-07-01' THEN '30' ELSE '31' END AS prov
      FROM (SELECT * FROM sample_rec.licence1 ORDER BY i LIMIT :licences) l) l;

-- +step
-- market-prices (#19): weekly prices of staple goods at one monitored market of each former
-- district. Each series follows its trend, its season (vegetables are dear in the rainy
-- months, cabbage cheap in winter), a rise before Tết (10 Feb 2024, 29 Jan 2025, 17 Feb 2026)
-- for meat, sticky rice and carp, and the market's own level; fuel prices are set nationally,
-- the same in every market.
CREATE TABLE sample_rec.commodities (code text, name text, category text, unit text, base float8, trend float8, season float8,
                                     peak_doy int, tet float8, noise float8, step float8, market_spread float8);
-- +step
INSERT INTO sample_rec.commodities VALUES
    ('GAO-KD', 'Gạo tẻ thường (Khang Dân)', 'Lương thực', 'kg', 14500, 0.04, 0.02, 60, 0.02, 0.01, 500, 0.03),
    ('GAO-BH', 'Gạo tẻ ngon (Bắc Hương)', 'Lương thực', 'kg', 20500, 0.03, 0.02, 60, 0.03, 0.01, 500, 0.04),
    ('GAO-NEP', 'Gạo nếp cái hoa vàng', 'Lương thực', 'kg', 32000, 0.02, 0.03, 20, 0.12, 0.015, 1000, 0.05),
    ('LON-HOI', 'Lợn hơi', 'Thực phẩm', 'kg', 56000, 0.04, 0.08, 200, 0.05, 0.02, 500, 0.02),
    ('LON-MS', 'Thịt lợn mông sấn', 'Thực phẩm', 'kg', 115000, 0.04, 0.05, 200, 0.12, 0.015, 1000, 0.05),
    ('BO-THAN', 'Thịt bò thăn', 'Thực phẩm', 'kg', 270000, 0.03, 0.02, 30, 0.10, 0.01, 5000, 0.05),
    ('GA-TA', 'Gà ta làm sẵn', 'Thực phẩm', 'kg', 130000, 0.02, 0.03, 30, 0.18, 0.02, 5000, 0.06),
    ('GA-CN', 'Gà công nghiệp làm sẵn', 'Thực phẩm', 'kg', 65000, 0.02, 0.03, 30, 0.08, 0.02, 1000, 0.05),
    ('CA-CHEP', 'Cá chép', 'Thực phẩm', 'kg', 70000, 0.03, 0.03, 20, 0.20, 0.02, 1000, 0.06),
    ('TRUNG-GA', 'Trứng gà công nghiệp', 'Thực phẩm', 'chục (10 quả)', 30000, 0.02, 0.05, 30, 0.05, 0.02, 500, 0.04),
    ('TRUNG-VIT', 'Trứng vịt', 'Thực phẩm', 'chục (10 quả)', 36000, 0.02, 0.05, 30, 0.05, 0.02, 500, 0.04),
    ('RAU-MUONG', 'Rau muống', 'Rau, củ, quả', 'kg', 12000, 0.02, 0.25, 15, 0.05, 0.06, 500, 0.08),
    ('BAP-CAI', 'Bắp cải', 'Rau, củ, quả', 'kg', 13000, 0.02, 0.35, 230, 0.0, 0.06, 500, 0.08),
    ('CA-CHUA', 'Cà chua', 'Rau, củ, quả', 'kg', 20000, 0.02, 0.30, 240, 0.0, 0.06, 500, 0.08),
    ('XANG-95', 'Xăng RON 95-III', 'Nhiên liệu', 'lít', 23500, -0.04, 0, 0, 0, 0, 10, 0),
    ('XANG-E5', 'Xăng E5 RON 92-II', 'Nhiên liệu', 'lít', 22400, -0.04, 0, 0, 0, 0, 10, 0),
    ('DAU-DO', 'Dầu diesel 0,05S-II', 'Nhiên liệu', 'lít', 20800, -0.05, 0, 0, 0, 0, 10, 0),
    ('XI-MANG', 'Xi măng PCB40 (bao 50 kg)', 'Vật liệu xây dựng', 'tấn', 1550000, 0.02, 0.03, 300, 0, 0.01, 10000, 0.03),
    ('THEP-CUON', 'Thép cuộn Φ6–Φ8', 'Vật liệu xây dựng', 'kg', 14800, 0.0, 0.03, 90, 0, 0.01, 100, 0.02),
    ('THEP-D10', 'Thép thanh vằn D10 CB300', 'Vật liệu xây dựng', 'kg', 15200, 0.0, 0.03, 90, 0, 0.01, 100, 0.02);
-- +step
CREATE TABLE sample_rec.markets AS
SELECT 'CHO' || lpad(row_number() OVER (ORDER BY m.district, m.market)::text, 2, '0') AS market_code, m.market, n.new_code AS commune_code
FROM (VALUES ('Chợ Hội Đô', 'Phường Quang Trung', 'Thành phố Hải Dương'), ('Chợ Sao Đỏ', 'Phường Sao Đỏ', 'Thị xã Chí Linh'),
             ('Chợ Nam Sách', 'Thị trấn Nam Sách', 'Huyện Nam Sách'), ('Chợ Phú Thứ', 'Thị trấn Phú Thứ', 'Huyện Kinh Môn'),
             ('Chợ Phú Thái', 'Thị trấn Phú Thái', 'Huyện Kim Thành'), ('Chợ Thanh Hà', 'Thị trấn Thanh Hà', 'Huyện Thanh Hà'),
             ('Chợ Lai Cách', 'Thị trấn Lai Cách', 'Huyện Cẩm Giàng'), ('Chợ Kẻ Sặt', 'Thị trấn Kẻ Sặt', 'Huyện Bình Giang'),
             ('Chợ Gia Lộc', 'Thị trấn Gia Lộc', 'Huyện Gia Lộc'), ('Chợ Tứ Kỳ', 'Thị trấn Tứ Kỳ', 'Huyện Tứ Kỳ'),
             ('Chợ Ninh Giang', 'Thị trấn Ninh Giang', 'Huyện Ninh Giang'), ('Chợ Thanh Miện', 'Thị trấn Thanh Miện', 'Huyện Thanh Miện')) m(market, commune, district)
JOIN sample_rec.old o ON o.name = m.commune AND o.district = m.district
JOIN sample_rec.old2new n ON n.fid = o.fid;
-- +step
CREATE TABLE sample_rec.market_prices AS
SELECT c.code || '-' || m.market_code || '-' || to_char(w.d, 'YYYYMMDD') AS price_id,
       c.code AS commodity_code, c.name AS commodity, c.category, c.unit,
       (round(c.base * (1 + c.trend * t.years)
              -- the long swings of each market (the pig cycle, world oil and steel prices)
              * (1 + CASE WHEN c.category = 'Nhiên liệu' THEN 0.07 ELSE 0.06 END * sin(2 * pi() * t.days / (330 + 120 * sample_rec.r(hashtext(c.code), 901)) + 6.283 * sample_rec.r(hashtext(c.code), 902))
                   + 0.03 * sin(2 * pi() * t.days / (90 + 40 * sample_rec.r(hashtext(c.code), 903)) + 6.283 * sample_rec.r(hashtext(c.code), 904)))
              * (1 + c.season * cos(2 * pi() * (extract(doy FROM w.d) - c.peak_doy) / 365.25))
              * (1 + c.tet * exp(-power((w.d - tet.d + 10) / 12.0, 2)))
              * (1 + c.market_spread * (sample_rec.r(hashtext(c.code || m.market_code), 905) - 0.5))
              * (1 + c.noise * sample_rec.gauss(hashtext(c.code || m.market_code)::bigint * 1000 + t.week, 906))
              / c.step) * c.step)::bigint AS price_vnd,
       m.market, m.commune_code, w.d AS observed_on
FROM sample_rec.commodities c
CROSS JOIN sample_rec.markets m
CROSS JOIN (SELECT g::date AS d FROM generate_series(date '2024-01-03', date '2026-09-30', interval '7 days') g) w
CROSS JOIN LATERAL (SELECT (w.d - date '2024-01-03') AS days, (w.d - date '2024-01-03') / 365.25 AS years, (w.d - date '2024-01-03') / 7 AS week) t
CROSS JOIN LATERAL (SELECT x AS d FROM unnest(ARRAY[date '2024-02-10', date '2025-01-29', date '2026-02-17']) x ORDER BY abs(x - w.d) LIMIT 1) tet;

-- +step
-- public-assets (#21): the public assets of state agencies. Land and buildings stand on the
-- generated parcels of public use (offices, schools, health, culture, sport; a few road, canal
-- and cemetery parcels; parcel_code links them); cars and other equipment belong to the
-- provincial departments and hospitals. Land is not depreciated; buildings lose 2.5% a year
-- (40 years), cars 6.67% (15 years), other assets 10%.
CREATE TABLE sample_rec.asset_land AS
SELECT p.fid, p.parcel_code, p.land_use, p.dien_tich, o.name AS commune, o.base, o.in_text AS commune_text, o.urban, w.in_text AS ward_text
FROM (SELECT p.*, row_number() OVER (PARTITION BY commune_code, land_use ORDER BY dien_tich DESC, fid) AS rk
      FROM data.land_parcels p WHERE land_use IN ('TSC', 'DGD', 'DYT', 'DVH', 'DTT', 'NTD', 'DTL', 'DGT')) p
JOIN sample_rec.old o ON o.code = p.commune_code
JOIN sample_rec.old2new n ON n.fid = o.fid
JOIN sample_rec.wards w ON w.code = n.new_code
WHERE p.rk <= CASE WHEN p.land_use IN ('NTD', 'DTL', 'DGT') THEN 5 ELSE 30 END;
-- +step
-- Agencies of the former province that keep cars (names after the March 2025 mergers).
CREATE FUNCTION sample_rec.agencies() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['Văn phòng Ủy ban nhân dân tỉnh Hải Dương', 'Văn phòng Đoàn đại biểu Quốc hội và Hội đồng nhân dân tỉnh Hải Dương',
             'Sở Tài chính tỉnh Hải Dương', 'Sở Nội vụ tỉnh Hải Dương', 'Sở Xây dựng tỉnh Hải Dương', 'Sở Nông nghiệp và Môi trường tỉnh Hải Dương',
             'Sở Y tế tỉnh Hải Dương', 'Sở Giáo dục và Đào tạo tỉnh Hải Dương', 'Sở Khoa học và Công nghệ tỉnh Hải Dương',
             'Sở Văn hóa, Thể thao và Du lịch tỉnh Hải Dương', 'Sở Công Thương tỉnh Hải Dương', 'Sở Tư pháp tỉnh Hải Dương',
             'Thanh tra tỉnh Hải Dương', 'Ban Quản lý các khu công nghiệp tỉnh Hải Dương', 'Trung tâm Kiểm soát bệnh tật tỉnh Hải Dương'];
-- +step
CREATE TABLE sample_rec.asset0 AS
-- Land.
SELECT 1 AS kind_order, a.fid AS k, 'Đất' AS kind,
       CASE a.land_use WHEN 'TSC' THEN 'Đất trụ sở Ủy ban nhân dân ' || a.ward_text
                       WHEN 'DGD' THEN 'Đất ' || lower(left(school.name, 1)) || substr(school.name, 2)
                       WHEN 'DYT' THEN 'Đất Trạm Y tế ' || a.commune_text
                       WHEN 'DVH' THEN 'Đất nhà văn hóa ' || a.commune_text
                       WHEN 'DTT' THEN 'Đất sân thể thao ' || a.commune_text
                       WHEN 'NTD' THEN 'Đất nghĩa trang nhân dân ' || a.commune_text
                       WHEN 'DTL' THEN 'Đất kênh mương thủy lợi ' || a.commune_text
                       ELSE 'Đất đường giao thông ' || a.commune_text END AS name,
       CASE a.land_use WHEN 'DGD' THEN school.name WHEN 'DYT' THEN 'Trạm Y tế ' || a.commune_text
                       WHEN 'DTL' THEN 'Công ty TNHH MTV Khai thác công trình thủy lợi Hải Dương'
                       ELSE 'Ủy ban nhân dân ' || a.ward_text END AS managing_agency,
       -- Land for roads, canals and cemeteries is valued low, like farmland.
       sample_rec.round_to(a.dien_tich * CASE WHEN a.land_use IN ('NTD', 'DTL', 'DGT') THEN 0.1e6 + 0.15e6 * sample_rec.r(a.fid, 1001)
                                              WHEN a.urban THEN 12e6 + 18e6 * sample_rec.r(a.fid, 1001) ELSE 2e6 + 5e6 * sample_rec.r(a.fid, 1001) END, 1000)::bigint AS original_value_vnd,
       date '1993-01-01' + floor(sample_rec.r(a.fid, 1002) * 8000)::int AS acquired_on,
       a.dien_tich AS area_m2, a.parcel_code, 0.0 AS depreciation
FROM sample_rec.asset_land a,
     LATERAL (SELECT 'Trường ' || sample_rec.one(sample_rec.r(a.fid, 1003), ARRAY['Mầm non', 'Tiểu học', 'THCS']) || ' ' || a.base AS name) school
UNION ALL
-- The buildings on most of them.
SELECT 2, a.fid, 'Nhà',
       CASE a.land_use WHEN 'TSC' THEN 'Nhà làm việc ' || f.floors || ' tầng, Ủy ban nhân dân ' || a.ward_text
                       WHEN 'DGD' THEN 'Nhà lớp học ' || f.floors || ' tầng, ' || school.name
                       WHEN 'DYT' THEN 'Nhà khám bệnh ' || f.floors || ' tầng, Trạm Y tế ' || a.commune_text
                       WHEN 'DVH' THEN 'Nhà văn hóa ' || a.commune_text
                       ELSE 'Nhà thi đấu đa năng ' || a.commune_text END,
       CASE a.land_use WHEN 'DGD' THEN school.name WHEN 'DYT' THEN 'Trạm Y tế ' || a.commune_text
                       ELSE 'Ủy ban nhân dân ' || a.ward_text END,
       sample_rec.round_to(fl.area * (5.5e6 + 2.5e6 * sample_rec.r(a.fid, 1012)), 1000)::bigint,
       date '1998-01-01' + floor(sample_rec.r(a.fid, 1013) * 9800)::int,
       fl.area, a.parcel_code, 0.025
FROM sample_rec.asset_land a,
     LATERAL (SELECT 'Trường ' || sample_rec.one(sample_rec.r(a.fid, 1003), ARRAY['Mầm non', 'Tiểu học', 'THCS']) || ' ' || a.base AS name) school,
     LATERAL (SELECT CASE WHEN a.land_use IN ('DVH', 'DTT') THEN 1 ELSE 2 + floor(sample_rec.r(a.fid, 1010) * 3)::int END AS floors) f,
     LATERAL (SELECT round((f.floors * least(a.dien_tich * 0.45, 180 + 600 * sample_rec.r(a.fid, 1011)))::numeric, 1)::float8 AS area) fl
WHERE a.land_use IN ('TSC', 'DGD', 'DYT', 'DVH', 'DTT') AND sample_rec.r(a.fid, 1014) < 0.65
UNION ALL
-- Cars of the departments and hospitals.
SELECT 3, i, 'Xe ô tô',
       v.vehicle || ', biển kiểm soát 34A-' || lpad(floor(sample_rec.r(i, 1021) * 1000)::int::text, 3, '0') || '.' || lpad(floor(sample_rec.r(i, 1022) * 100)::int::text, 2, '0'),
       CASE WHEN v.vehicle LIKE 'Xe cứu thương%' THEN sample_rec.one(sample_rec.r(i, 1023), ARRAY['Bệnh viện Đa khoa tỉnh Hải Dương', 'Bệnh viện Sản Nhi Hải Dương', 'Trung tâm Cấp cứu 115 Hải Dương'])
            ELSE sample_rec.one(sample_rec.r(i, 1023), sample_rec.agencies()) END,
       sample_rec.round_to(v.price * (0.9 + 0.2 * sample_rec.r(i, 1024)), 1e6)::bigint,
       date '2010-01-01' + floor(sample_rec.r(i, 1025) * 5700)::int,
       NULL, NULL, 1 / 15.0
FROM generate_series(1, 160) i,
     LATERAL (SELECT * FROM (VALUES (1, 'Xe ô tô Toyota Innova 8 chỗ', 780e6), (2, 'Xe ô tô Toyota Fortuner 7 chỗ', 1150e6),
                                    (3, 'Xe ô tô Ford Everest 7 chỗ', 1250e6), (4, 'Xe ô tô Mitsubishi Pajero Sport 7 chỗ', 1100e6),
                                    (5, 'Xe ô tô Ford Transit 16 chỗ', 850e6), (6, 'Xe ô tô bán tải Ford Ranger', 750e6),
                                    (7, 'Xe ô tô Toyota Camry 5 chỗ', 1300e6), (8, 'Xe cứu thương Ford Transit', 1050e6),
                                    (9, 'Xe cứu thương Hyundai Solati', 1200e6)) v(n, vehicle, price)
              WHERE v.n = 1 + floor(sample_rec.r(i, 1020) * 9)::int) v
UNION ALL
-- Machines, systems and software worth more than 500 million.
SELECT 4, i, 'Tài sản khác', e.item, e.agency,
       sample_rec.round_to(e.price * (0.8 + 0.4 * sample_rec.r(i, 1031)), 1e6)::bigint,
       date '2012-01-01' + floor(sample_rec.r(i, 1032) * 5000)::int,
       NULL, NULL, 0.1
FROM generate_series(1, 140) i,
     LATERAL (SELECT * FROM (VALUES
         (1, 'Hệ thống chụp cắt lớp vi tính (CT) 128 lát cắt', 'Bệnh viện Đa khoa tỉnh Hải Dương', 18e9),
         (2, 'Hệ thống chụp cộng hưởng từ (MRI) 1,5 Tesla', 'Bệnh viện Đa khoa tỉnh Hải Dương', 32e9),
         (3, 'Máy siêu âm màu 4D', 'Bệnh viện Sản Nhi Hải Dương', 2.2e9),
         (4, 'Hệ thống máy chủ và lưu trữ của Trung tâm dữ liệu tỉnh', 'Sở Khoa học và Công nghệ tỉnh Hải Dương', 9e9),
         (5, 'Máy phát điện dự phòng 250 kVA', 'Văn phòng Ủy ban nhân dân tỉnh Hải Dương', 0.9e9),
         (6, 'Hệ thống camera giám sát an ninh, trật tự và giao thông', 'Công an tỉnh Hải Dương', 6e9),
         (7, 'Phần mềm quản lý văn bản và điều hành', 'Văn phòng Ủy ban nhân dân tỉnh Hải Dương', 1.8e9),
         (8, 'Trạm quan trắc môi trường không khí tự động', 'Sở Nông nghiệp và Môi trường tỉnh Hải Dương', 3.5e9),
         (9, 'Hệ thống âm thanh, ánh sáng sân khấu', 'Nhà hát Chèo Hải Dương', 1.2e9),
         (10, 'Máy xét nghiệm sinh hóa tự động', 'Trung tâm Kiểm soát bệnh tật tỉnh Hải Dương', 2.5e9)) e(n, item, agency, price)
              WHERE e.n = 1 + floor(sample_rec.r(i, 1030) * 10)::int) e;
-- +step
CREATE TABLE sample_rec.public_assets AS
SELECT 'TSC-' || CASE a.kind WHEN 'Đất' THEN 'D' WHEN 'Nhà' THEN 'N' WHEN 'Xe ô tô' THEN 'X' ELSE 'K' END || '-'
           || lpad(row_number() OVER (PARTITION BY a.kind ORDER BY a.acquired_on, a.k)::text, 6, '0') AS asset_code,
       a.name, a.kind, a.managing_agency, a.original_value_vnd,
       greatest(0, sample_rec.round_to(a.original_value_vnd * (1 - a.depreciation * (sample_rec.snapshot() - a.acquired_on) / 365.25), 1000))::bigint AS residual_value_vnd,
       a.acquired_on, a.area_m2, a.parcel_code
FROM sample_rec.asset0 a;
