-- +goose Up
-- Layers keep their delivered geometry in its own SRID (VN-2000 stays as surveyed) and a copy
-- in Web Mercator for tiles, kept in step by a generated column and indexed: a tile then reads
-- and clips ready geometry instead of reprojecting every feature it touches (BASELINE.md:
-- reprojecting per tile halves throughput). web_column names it; NULL for tables without one.
ALTER TABLE layers ADD COLUMN web_column text;

-- +goose Down
ALTER TABLE layers DROP COLUMN web_column;
