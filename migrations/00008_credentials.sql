-- +goose Up
-- Principals and their credentials. Agencies (the catalogue's owners and any consuming agency)
-- act through applications (Decree 47/2020 Art. 35 asks which application will use the data)
-- and authenticate with API keys. A key is shown once; only its SHA-256 is kept, beside a
-- public id that names it in lists, logs and the audit trail.
ALTER TABLE agencies ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE applications (
    id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    agency_id  text NOT NULL REFERENCES agencies ON UPDATE CASCADE,
    name       text NOT NULL CHECK (name <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    -- The public part of the key ("hub_" and 8 characters): what lists and logs show.
    id             text PRIMARY KEY CHECK (id ~ '^hub_[a-z2-7]{8}$'),
    secret_sha256  bytea NOT NULL CHECK (length(secret_sha256) = 32),
    agency_id      text NOT NULL REFERENCES agencies ON UPDATE CASCADE,
    application_id text REFERENCES applications ON UPDATE CASCADE,
    label          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz,
    revoked_at     timestamptz
);
CREATE INDEX api_keys_agency ON api_keys (agency_id);

-- Every hub process caches what a key resolves to; a change tells them all to forget it.
-- +goose StatementBegin
CREATE FUNCTION hub_notify_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hub_access', TG_TABLE_NAME);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER api_keys_notify AFTER INSERT OR DELETE OR UPDATE OF agency_id, application_id, expires_at, revoked_at ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION hub_notify_access();
CREATE TRIGGER applications_notify AFTER INSERT OR UPDATE OR DELETE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION hub_notify_access();

-- +goose Down
DROP TABLE api_keys;
DROP TABLE applications;
DROP FUNCTION hub_notify_access();
ALTER TABLE agencies DROP COLUMN created_at;
