-- +goose Up
-- Record collections: the non-spatial databases (enterprises, schools, births…) served through
-- the same registry and collections API as the layers, without geometry. A record collection
-- has a natural key (tax code, school code, diploma number) that its items are looked up by.
ALTER TABLE layers ADD COLUMN item_type text NOT NULL DEFAULT 'feature' CHECK (item_type IN ('feature', 'record'));
ALTER TABLE layers ADD COLUMN key_field text;
ALTER TABLE layers ALTER COLUMN srid DROP NOT NULL;
ALTER TABLE layers ALTER COLUMN geometry_column DROP NOT NULL;
ALTER TABLE layers ALTER COLUMN geometry_type DROP NOT NULL;
ALTER TABLE layers ADD CONSTRAINT layers_geometry_by_item_type CHECK (
    CASE item_type
        WHEN 'feature' THEN srid IS NOT NULL AND geometry_column IS NOT NULL AND geometry_type IS NOT NULL
        ELSE srid IS NULL AND geometry_column IS NULL AND geometry_type IS NULL AND web_column IS NULL
    END);

-- Attribute links, declared as data: a field of one collection (usually records) holds the value
-- of a field of another (usually a layer): enterprises.commune_code → communes.code. Links may
-- hold for a time window of the source's time field, so that a birth registered before the
-- 2025 reorganisation points at the commune of then and a later one at the ward of now.
CREATE TABLE collection_links (
    id           text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    source_id    text NOT NULL REFERENCES layers ON DELETE CASCADE ON UPDATE CASCADE,
    source_field text NOT NULL,
    target_id    text NOT NULL REFERENCES layers ON DELETE CASCADE ON UPDATE CASCADE,
    target_field text NOT NULL,
    title        text NOT NULL DEFAULT '',
    title_en     text NOT NULL DEFAULT '',
    -- The window [valid_from, valid_to) of time_field (a date or datetime field of the source)
    -- in which the link holds; NULL bounds are open. Without time_field the link always holds.
    time_field   text,
    valid_from   date,
    valid_to     date,
    FOREIGN KEY (source_id, source_field) REFERENCES layer_fields (layer_id, name) ON DELETE CASCADE ON UPDATE CASCADE,
    FOREIGN KEY (target_id, target_field) REFERENCES layer_fields (layer_id, name) ON DELETE CASCADE ON UPDATE CASCADE,
    FOREIGN KEY (source_id, time_field) REFERENCES layer_fields (layer_id, name) ON DELETE CASCADE ON UPDATE CASCADE,
    CHECK (time_field IS NOT NULL OR (valid_from IS NULL AND valid_to IS NULL)),
    CHECK (valid_from IS NULL OR valid_to IS NULL OR valid_from < valid_to)
);
CREATE INDEX collection_links_target ON collection_links (target_id);

-- Joined layers: a layer's geometry with figures aggregated from a record collection (e.g.
-- enterprises per commune), declared as data and materialised into its own table, which is
-- rebuilt in the transaction that changes either side.
CREATE TABLE joined_layers (
    layer_id      text PRIMARY KEY REFERENCES layers ON DELETE CASCADE ON UPDATE CASCADE,
    base_id       text NOT NULL REFERENCES layers ON UPDATE CASCADE,
    base_field    text NOT NULL,
    records_id    text NOT NULL REFERENCES layers ON UPDATE CASCADE,
    records_field text NOT NULL,
    -- CQL2 text selecting the records that count (e.g. status = 'active'); '' for all.
    filter        text NOT NULL DEFAULT '',
    -- [{"name", "op": count|sum|avg|min|max|latest, "field", "orderBy", "title", "titleEn"}]
    aggregates    jsonb NOT NULL CHECK (jsonb_typeof(aggregates) = 'array' AND jsonb_array_length(aggregates) > 0),
    FOREIGN KEY (base_id, base_field) REFERENCES layer_fields (layer_id, name) ON UPDATE CASCADE,
    FOREIGN KEY (records_id, records_field) REFERENCES layer_fields (layer_id, name) ON UPDATE CASCADE
);

-- Link and join definitions are part of what every hub process must reload.
-- +goose StatementBegin
CREATE FUNCTION hub_notify_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hub_layers', 'links');
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER collection_links_notify AFTER INSERT OR UPDATE OR DELETE ON collection_links
    FOR EACH STATEMENT EXECUTE FUNCTION hub_notify_links();
CREATE TRIGGER joined_layers_notify AFTER INSERT OR UPDATE OR DELETE ON joined_layers
    FOR EACH STATEMENT EXECUTE FUNCTION hub_notify_links();

-- Why an entry has no data in the hub when it has none (e.g. the e-mail system holds no
-- records to share): the catalogue says so instead of showing invented data.
ALTER TABLE catalog_entries ADD COLUMN connection_note text NOT NULL DEFAULT '';
UPDATE catalog_entries SET connection_note = CASE id
    WHEN 'thu-dien-tu-cong-vu' THEN 'Hệ thống thư điện tử công vụ giữ hộp thư của cán bộ, không phải bản ghi để chia sẻ; kho không lưu dữ liệu của hệ thống này. — The official e-mail system holds staff mailboxes, not records to share; the hub keeps none of its data.'
    WHEN 'lgsp' THEN 'LGSP là nền tảng tích hợp, chia sẻ (kênh trao đổi), không phải cơ sở dữ liệu; kho kết nối với các hệ thống qua nền tảng này. — The LGSP is the integration platform (the exchange channel), not a database; the hub connects to systems through it.'
    ELSE '' END;

-- +goose Down
ALTER TABLE catalog_entries DROP COLUMN connection_note;
DROP TABLE joined_layers;
DROP TABLE collection_links;
DROP FUNCTION hub_notify_links();
ALTER TABLE layers DROP CONSTRAINT layers_geometry_by_item_type;
DELETE FROM layers WHERE item_type = 'record';
ALTER TABLE layers ALTER COLUMN geometry_type SET NOT NULL;
ALTER TABLE layers ALTER COLUMN geometry_column SET NOT NULL;
ALTER TABLE layers ALTER COLUMN srid SET NOT NULL;
ALTER TABLE layers DROP COLUMN key_field;
ALTER TABLE layers DROP COLUMN item_type;
