-- The registry of cached derived tables (see digitalcity/analysis/cache.py).
CREATE SCHEMA IF NOT EXISTS digitalcity_cache;
CREATE TABLE IF NOT EXISTS digitalcity_cache.entries (
    key       text        PRIMARY KEY,
    city      text        NOT NULL,
    kind      text        NOT NULL,
    inputs    text        NOT NULL,
    tables    text[]      NOT NULL,
    built_at  timestamptz NOT NULL DEFAULT now()
)
