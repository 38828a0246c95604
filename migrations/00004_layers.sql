-- +goose Up
-- The layer registry: what every published spatial collection is (table, geometry, native SRID,
-- fields and their sharing category), with a data version that changes whenever its data does.
-- Layer tables live in schema "data", apart from the hub's own tables.
CREATE SCHEMA IF NOT EXISTS data;

CREATE TABLE layers (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    title           text NOT NULL,
    title_en        text NOT NULL DEFAULT '',
    description     text NOT NULL DEFAULT '',
    entry_id        text REFERENCES catalog_entries ON UPDATE CASCADE,
    table_name      text NOT NULL UNIQUE CHECK (table_name ~ '^[a-z_][a-z0-9_]{0,62}$'),
    geometry_column text NOT NULL DEFAULT 'geom',
    geometry_type   text NOT NULL CHECK (geometry_type IN
        ('Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon', 'Geometry')),
    srid            integer NOT NULL REFERENCES spatial_ref_sys (srid),
    id_column       text NOT NULL DEFAULT 'fid',
    min_zoom        integer NOT NULL DEFAULT 0 CHECK (min_zoom BETWEEN 0 AND 24),
    max_zoom        integer NOT NULL DEFAULT 22 CHECK (max_zoom BETWEEN 0 AND 24),
    temporal_field  text,
    -- Overrides the entry's categories for the whole layer (e.g. open base layers).
    category        text CHECK (category IN ('open', 'default', 'specific')),
    attribution     text NOT NULL DEFAULT '',
    data_version    bigint NOT NULL DEFAULT 0,
    feature_count   bigint NOT NULL DEFAULT 0,
    -- Extent in WGS 84 (minx, miny, maxx, maxy), refreshed by every import.
    extent          double precision[],
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (min_zoom <= max_zoom)
);

CREATE TABLE layer_fields (
    layer_id  text NOT NULL REFERENCES layers ON DELETE CASCADE ON UPDATE CASCADE,
    name      text NOT NULL,
    position  integer NOT NULL,
    type      text NOT NULL CHECK (type IN ('string', 'integer', 'number', 'boolean', 'date', 'datetime', 'json')),
    title     text NOT NULL DEFAULT '',
    title_en  text NOT NULL DEFAULT '',
    -- NULL: the layer's (or its entry's) own category.
    category  text CHECK (category IN ('open', 'default', 'specific')),
    personal  boolean NOT NULL DEFAULT false,
    required  boolean NOT NULL DEFAULT false,
    code_list text,
    PRIMARY KEY (layer_id, name),
    -- Personal data is never open (Decree 47/2020; Law on Data 2024).
    CHECK (NOT (personal AND category = 'open'))
);

-- Code lists that imports check values against (land-use codes, soil classes, road classes…).
CREATE TABLE code_lists (
    list     text NOT NULL,
    code     text NOT NULL,
    label    text NOT NULL,
    label_en text NOT NULL DEFAULT '',
    PRIMARY KEY (list, code)
);

-- One row per import: the quality report kept with the data version it produced
-- (the data owner's yearly check, Decree 47/2020 Art. 16, starts here).
CREATE TABLE imports (
    id           bigserial PRIMARY KEY,
    layer_id     text NOT NULL REFERENCES layers ON DELETE CASCADE ON UPDATE CASCADE,
    data_version bigint NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now(),
    source       text NOT NULL,
    format       text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('replace', 'append', 'upsert')),
    report       jsonb NOT NULL
);
CREATE INDEX imports_layer ON imports (layer_id, data_version DESC);

-- Every change to a layer's definition or data version tells every hub process to reload.
-- +goose StatementBegin
CREATE FUNCTION hub_notify_layers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hub_layers', COALESCE(NEW.id, OLD.id));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER layers_notify AFTER INSERT OR UPDATE OR DELETE ON layers
    FOR EACH ROW EXECUTE FUNCTION hub_notify_layers();

-- +goose StatementBegin
CREATE FUNCTION hub_notify_layer_fields() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hub_layers', COALESCE(NEW.layer_id, OLD.layer_id));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER layer_fields_notify AFTER INSERT OR UPDATE OR DELETE ON layer_fields
    FOR EACH ROW EXECUTE FUNCTION hub_notify_layer_fields();

-- The national land-use codes (Circular 08/2024/TT-BTNMT and its predecessors) that parcels use.
INSERT INTO code_lists (list, code, label, label_en) VALUES
  ('land-use', 'LUC', 'Đất chuyên trồng lúa', 'Rice land (two or more crops)'),
  ('land-use', 'LUK', 'Đất trồng lúa còn lại', 'Other rice land'),
  ('land-use', 'BHK', 'Đất bằng trồng cây hằng năm khác', 'Flat land for other annual crops'),
  ('land-use', 'HNK', 'Đất trồng cây hằng năm khác', 'Land for other annual crops'),
  ('land-use', 'CLN', 'Đất trồng cây lâu năm', 'Perennial crop land'),
  ('land-use', 'RSX', 'Đất rừng sản xuất', 'Production forest'),
  ('land-use', 'RPH', 'Đất rừng phòng hộ', 'Protection forest'),
  ('land-use', 'NTS', 'Đất nuôi trồng thủy sản', 'Aquaculture land'),
  ('land-use', 'NKH', 'Đất nông nghiệp khác', 'Other agricultural land'),
  ('land-use', 'ONT', 'Đất ở tại nông thôn', 'Rural residential land'),
  ('land-use', 'ODT', 'Đất ở tại đô thị', 'Urban residential land'),
  ('land-use', 'TSC', 'Đất xây dựng trụ sở cơ quan', 'Government offices'),
  ('land-use', 'DGD', 'Đất xây dựng cơ sở giáo dục và đào tạo', 'Education facilities'),
  ('land-use', 'DYT', 'Đất xây dựng cơ sở y tế', 'Health facilities'),
  ('land-use', 'DVH', 'Đất xây dựng cơ sở văn hóa', 'Cultural facilities'),
  ('land-use', 'DTT', 'Đất xây dựng cơ sở thể dục thể thao', 'Sports facilities'),
  ('land-use', 'TMD', 'Đất thương mại, dịch vụ', 'Commercial and service land'),
  ('land-use', 'SKC', 'Đất cơ sở sản xuất phi nông nghiệp', 'Non-agricultural production'),
  ('land-use', 'SKK', 'Đất khu công nghiệp', 'Industrial park'),
  ('land-use', 'DGT', 'Đất giao thông', 'Transport land'),
  ('land-use', 'DTL', 'Đất thủy lợi', 'Irrigation land'),
  ('land-use', 'NTD', 'Đất nghĩa trang, nhà tang lễ', 'Cemeteries'),
  ('land-use', 'TON', 'Đất cơ sở tôn giáo', 'Religious land'),
  ('land-use', 'TIN', 'Đất cơ sở tín ngưỡng', 'Belief (shrine) land'),
  ('land-use', 'SON', 'Đất sông, ngòi, kênh, rạch, suối', 'Rivers and canals'),
  ('land-use', 'MNC', 'Đất có mặt nước chuyên dùng', 'Special-use water surface'),
  ('land-use', 'BCS', 'Đất bằng chưa sử dụng', 'Unused flat land');

-- +goose Down
DROP TABLE imports;
DROP TABLE code_lists;
DROP TABLE layer_fields;
DROP TABLE layers;
DROP FUNCTION hub_notify_layers();
DROP FUNCTION hub_notify_layer_fields();
DROP SCHEMA data CASCADE;
