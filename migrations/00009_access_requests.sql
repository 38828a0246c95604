-- +goose Up
-- How an agency comes to read non-open data (Decree 47/2020): for "default" data it asks online
-- — which application, purpose, fields, how often (Art. 35) — and the owner approves or
-- refuses (or lets such requests through by setting auto_approve); for "specific" data an
-- agreement names purpose, fields, rows, dates, retention and deletion (Art. 38). Both are
-- kept with their whole life cycle; "active" and "expired" are derived from the dates.
ALTER TABLE catalog_entries ADD COLUMN auto_approve boolean NOT NULL DEFAULT false;
ALTER TABLE applications ADD CONSTRAINT applications_id_agency UNIQUE (id, agency_id);

CREATE TABLE access_requests (
    id             bigserial PRIMARY KEY,
    agency_id      text NOT NULL,
    application_id text NOT NULL,
    entry_id       text NOT NULL REFERENCES catalog_entries ON UPDATE CASCADE,
    purpose        text NOT NULL CHECK (btrim(purpose) <> ''),
    fields         text[] NOT NULL DEFAULT '{}', -- empty: every field the category allows
    frequency      text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'approved', 'refused', 'revoked')),
    reason         text NOT NULL DEFAULT '',
    submitted_at   timestamptz NOT NULL DEFAULT now(),
    decided_at     timestamptz,
    decided_by     text,
    FOREIGN KEY (application_id, agency_id) REFERENCES applications (id, agency_id) ON UPDATE CASCADE,
    CHECK (status NOT IN ('refused', 'revoked') OR btrim(reason) <> '')
);
-- One pending or approved connection per application and entry.
CREATE UNIQUE INDEX access_requests_open ON access_requests (application_id, entry_id)
    WHERE status IN ('submitted', 'approved');

CREATE TABLE agreements (
    id              bigserial PRIMARY KEY,
    agency_id       text NOT NULL,
    application_id  text NOT NULL,
    entry_id        text NOT NULL REFERENCES catalog_entries ON UPDATE CASCADE,
    purpose         text NOT NULL CHECK (btrim(purpose) <> ''),
    fields          text[] NOT NULL DEFAULT '{}',
    unmask_personal boolean NOT NULL DEFAULT false,
    -- The rows the agreement covers: {"field": ["value", …]}; NULL for all rows.
    row_filter      jsonb CHECK (row_filter IS NULL OR jsonb_typeof(row_filter) = 'object'),
    starts_on       date NOT NULL DEFAULT current_date,
    ends_on         date NOT NULL,
    retention       text NOT NULL CHECK (btrim(retention) <> ''),
    status          text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'approved', 'refused', 'revoked')),
    reason          text NOT NULL DEFAULT '',
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    decided_by      text,
    FOREIGN KEY (application_id, agency_id) REFERENCES applications (id, agency_id) ON UPDATE CASCADE,
    CHECK (ends_on > starts_on),
    CHECK (status NOT IN ('refused', 'revoked') OR btrim(reason) <> '')
);

CREATE TRIGGER access_requests_notify AFTER INSERT OR UPDATE OR DELETE ON access_requests
    FOR EACH STATEMENT EXECUTE FUNCTION hub_notify_access();
CREATE TRIGGER agreements_notify AFTER INSERT OR UPDATE OR DELETE ON agreements
    FOR EACH STATEMENT EXECUTE FUNCTION hub_notify_access();

-- +goose Down
DROP TABLE agreements;
DROP TABLE access_requests;
ALTER TABLE applications DROP CONSTRAINT applications_id_agency;
ALTER TABLE catalog_entries DROP COLUMN auto_approve;
