-- +goose Up
-- Sources: the agencies' systems the hub pulls a collection from on a schedule (Decision: the
-- catalogue's databases "shared, connected and collected from" national and sectoral systems).
-- A source is data: its connector, endpoint, credentials (an environment variable's name or a
-- value encrypted with the hub's key — never the secret itself in clear), mapping, key, schedule
-- and change detection.
CREATE TABLE sources (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    entry_id        text NOT NULL REFERENCES catalog_entries ON UPDATE CASCADE,
    collection      text NOT NULL CHECK (collection ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    item_type       text NOT NULL DEFAULT 'feature' CHECK (item_type IN ('feature', 'record')),
    title           text NOT NULL DEFAULT '',
    connector       text NOT NULL,
    endpoint        text NOT NULL,
    options         jsonb NOT NULL DEFAULT '{}',
    -- Header name → "env:NAME" or "enc:…" (AES-GCM under HUB_SECRET_KEY).
    headers         jsonb NOT NULL DEFAULT '{}',
    secret          text CHECK (secret ~ '^(env|enc):'),
    mapping         jsonb NOT NULL DEFAULT '{}',
    key_field       text NOT NULL,
    detect          text NOT NULL DEFAULT 'hash' CHECK (detect IN ('hash', 'watermark', 'feed')),
    watermark_field text,
    tombstone       text,
    deletions       text NOT NULL DEFAULT 'delete' CHECK (deletions IN ('delete', 'withdraw')),
    srid            integer,
    -- An interval ("15m", "6h") or a cron expression ("0 2 * * *"); NULL: run by hand only.
    schedule        text,
    time_limit      interval NOT NULL DEFAULT '30 minutes',
    max_attempts    integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 25),
    paused          boolean NOT NULL DEFAULT false,
    next_run_at     timestamptz,
    -- What the last successful run left: the watermark or feed version to continue from, and
    -- a file's ETag / Last-Modified. Written in the run's own transaction, with the data.
    cursor          text,
    validator       text,
    last_success_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (detect <> 'watermark' OR watermark_field IS NOT NULL)
);
CREATE INDEX sources_due ON sources (next_run_at) WHERE NOT paused AND schedule IS NOT NULL;
-- One source per collection: two complete sources would each delete the other's items.
CREATE UNIQUE INDEX sources_collection ON sources (collection);

-- One row per run: what it read and wrote, and the data version it left.
CREATE TABLE sync_runs (
    id            bigserial PRIMARY KEY,
    source_id     text NOT NULL REFERENCES sources ON DELETE CASCADE ON UPDATE CASCADE,
    trigger       text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'api', 'retry')),
    attempt       integer NOT NULL DEFAULT 1,
    node          text NOT NULL DEFAULT '',
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    status        text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'succeeded', 'unchanged', 'failed', 'timed out', 'interrupted')),
    read          bigint NOT NULL DEFAULT 0,
    inserted      bigint NOT NULL DEFAULT 0,
    updated       bigint NOT NULL DEFAULT 0,
    deleted       bigint NOT NULL DEFAULT 0,
    unchanged     bigint NOT NULL DEFAULT 0,
    rejected      bigint NOT NULL DEFAULT 0,
    data_version  bigint,
    cursor_before text,
    cursor_after  text,
    error         text,
    -- What the run could not do, though it succeeded (deletions it could not match to an item).
    notes         text
);
CREATE INDEX sync_runs_source ON sync_runs (source_id, id DESC);

-- The rows a run refused, with the reason (the first thousand of a run).
CREATE TABLE sync_rejects (
    run_id  bigint NOT NULL REFERENCES sync_runs ON DELETE CASCADE,
    n       bigint NOT NULL,
    key     text,
    field   text,
    reason  text NOT NULL
);
CREATE INDEX sync_rejects_run ON sync_rejects (run_id, n);

-- What each data version changed, item by item, for the consumers' change feed
-- (Circular 13/2017 Art. 21: "changes since a time"). Versions written by a file import or a
-- rebuild replace the collection whole: changes_from is the first version the feed can
-- answer from; before it a consumer reads the collection whole.
CREATE TABLE layer_changes (
    layer_id text NOT NULL REFERENCES layers ON DELETE CASCADE ON UPDATE CASCADE,
    version  bigint NOT NULL,
    fid      bigint NOT NULL,
    op       text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    -- The item's key (a deleted row is gone: the feed names it by its key) and, for a deletion,
    -- the row's fields without geometry (which callers could read it, under row restrictions).
    key      text,
    old      jsonb,
    PRIMARY KEY (layer_id, version, fid)
);
CREATE INDEX layer_changes_fid ON layer_changes (layer_id, fid, version);
ALTER TABLE layers ADD COLUMN changes_from bigint NOT NULL DEFAULT 0;
-- The collections loaded before: their versions are not itemised.
UPDATE layers SET changes_from = data_version;
-- The field layer_changes.key holds values of (the sync's key).
ALTER TABLE layers ADD COLUMN change_key text;

ALTER TABLE imports DROP CONSTRAINT imports_mode_check;
ALTER TABLE imports ADD CONSTRAINT imports_mode_check CHECK (mode IN ('replace', 'append', 'upsert', 'sync'));

-- +goose Down
ALTER TABLE imports DROP CONSTRAINT imports_mode_check;
ALTER TABLE imports ADD CONSTRAINT imports_mode_check CHECK (mode IN ('replace', 'append', 'upsert'));
ALTER TABLE layers DROP COLUMN change_key;
ALTER TABLE layers DROP COLUMN changes_from;
DROP TABLE layer_changes;
DROP TABLE sync_rejects;
DROP TABLE sync_runs;
DROP TABLE sources;
