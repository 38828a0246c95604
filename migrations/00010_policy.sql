-- +goose Up
-- hub_mask shows a personal value to a caller entitled to the row but not to the value in
-- clear (Decree 13/2023 data minimisation): a third of it at the start and the last two
-- characters, the rest starred — a citizen id 001085012389 reads 0010******89. Short values
-- are starred whole. IMMUTABLE and PARALLEL SAFE so the planner inlines it in every query.
-- +goose StatementBegin
CREATE FUNCTION hub_mask(v text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN char_length(v) <= 4 THEN repeat('*', char_length(v))
                ELSE left(v, char_length(v) / 3) || repeat('*', char_length(v) - char_length(v) / 3 - 2) || right(v, 2)
           END
$$;
-- +goose StatementEnd

-- An entry's sharing categories decide who reads its collections: a change must reach every
-- hub process's registry at once, as a change of a layer does.
-- +goose StatementBegin
CREATE FUNCTION hub_notify_entry_categories() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hub_layers', 'entry:' || NEW.id);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER catalog_entries_categories_notify AFTER UPDATE OF categories ON catalog_entries
    FOR EACH ROW WHEN (OLD.categories IS DISTINCT FROM NEW.categories)
    EXECUTE FUNCTION hub_notify_entry_categories();

-- +goose Down
DROP TRIGGER catalog_entries_categories_notify ON catalog_entries;
DROP FUNCTION hub_notify_entry_categories();
DROP FUNCTION hub_mask(text);
