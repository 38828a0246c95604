-- +goose Up
-- The personal-data processing log of Decree 47/2020 Art. 45: one row per access to non-open data
-- and per administrative action. Rows are chained by SHA-256 (see package audit) so that a changed,
-- inserted or removed row is detected by "hub audit verify"; seq is gapless and assigned by the
-- writer under an advisory lock, which is why it is not a sequence (sequences leave gaps).
-- No foreign keys: the log must outlive the agencies, credentials and entries it names.
CREATE TABLE audit_log (
    seq             bigint PRIMARY KEY CHECK (seq > 0),
    at              timestamptz NOT NULL,
    principal       text NOT NULL CHECK (principal <> ''),
    credential_id   text,   -- key id/prefix or OIDC subject, never a secret
    application     text,
    entry_id        text,
    collection      text,
    operation       text NOT NULL CHECK (operation <> ''),
    query           text,   -- path and query string, credentials removed
    rows            bigint,
    status          int,
    response_digest text,   -- hex SHA-256 of the response body
    prev_hash       bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash            bytea NOT NULL CHECK (octet_length(hash) = 32)
);
CREATE INDEX audit_log_entry ON audit_log (entry_id, at);
CREATE INDEX audit_log_principal ON audit_log (principal, at);
CREATE INDEX audit_log_collection ON audit_log (collection, at);

-- Append-only, enforced by the database and not only by the code that writes: the triggers fire
-- for the table owner and superusers too. ENABLE ALWAYS keeps them firing under
-- session_replication_role = replica, the usual way to bypass triggers.
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The personal-data processing log (Decree 47/2020 Art. 45) is never changed or deleted.';
END $$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_change;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

-- +goose Down
-- Rolling back must not destroy the log: refuse while it holds anything.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM audit_log) THEN
        RAISE EXCEPTION 'audit_log holds records: archive it (pg_dump -t audit_log) and drop it by hand';
    END IF;
END $$;
-- +goose StatementEnd
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
