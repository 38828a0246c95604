-- +goose Up
-- The shared-database catalogue: the agencies that own databases and the entries of the
-- province's decision. Entries are data (loaded by the next migration, edited through the
-- API), never Go literals.
CREATE TABLE agencies (
    id      text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name    text NOT NULL UNIQUE CHECK (name <> ''),
    name_en text NOT NULL DEFAULT ''
);

CREATE TABLE catalog_entries (
    id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    number     integer NOT NULL UNIQUE CHECK (number > 0),
    name       text NOT NULL CHECK (name <> ''),
    name_en    text NOT NULL DEFAULT '',
    owner_id   text NOT NULL REFERENCES agencies ON UPDATE CASCADE,
    purpose    text NOT NULL DEFAULT '',
    scope      text NOT NULL DEFAULT '',
    content    text NOT NULL DEFAULT '',
    source     text NOT NULL DEFAULT '',
    -- One or two of the Decree 47/2020 sharing categories, in the decision's order.
    categories text[] NOT NULL CHECK (
        cardinality(categories) BETWEEN 1 AND 3
        AND categories <@ ARRAY['open', 'default', 'specific']),
    kind       text NOT NULL CHECK (kind IN ('spatial', 'nonspatial')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- The text that "q" searches, lower-cased and without diacritics ("Đất đai" → "dat dai").
    search     tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', lower(hub_unaccent(name || ' ' || name_en))), 'A') ||
        setweight(to_tsvector('simple', lower(hub_unaccent(purpose || ' ' || scope || ' ' || content || ' ' || source))), 'C')
    ) STORED
);
CREATE INDEX catalog_entries_search ON catalog_entries USING gin (search);
CREATE INDEX catalog_entries_owner ON catalog_entries (owner_id);

-- +goose Down
DROP TABLE catalog_entries;
DROP TABLE agencies;
