-- Project metadata: one row per loaded version of every layer.
CREATE SCHEMA IF NOT EXISTS digitalcity;

CREATE TABLE IF NOT EXISTS digitalcity.layer_versions (
    city         text        NOT NULL,
    layer        text        NOT NULL,
    version      integer     NOT NULL,
    table_name   text        NOT NULL,
    is_current   boolean     NOT NULL DEFAULT false,
    dropped      boolean     NOT NULL DEFAULT false,
    fingerprint  text        NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    rows_loaded  integer     NOT NULL,
    extent       double precision[],
    report       jsonb       NOT NULL,
    PRIMARY KEY (city, layer, version)
);

CREATE UNIQUE INDEX IF NOT EXISTS layer_versions_one_current
    ON digitalcity.layer_versions (city, layer) WHERE is_current;

-- API keys: only a SHA-256 hash of each key is stored; the key itself is shown once.
CREATE TABLE IF NOT EXISTS digitalcity.api_keys (
    id          serial      PRIMARY KEY,
    prefix      text        NOT NULL,
    key_hash    text        NOT NULL UNIQUE,
    role        text        NOT NULL CHECK (role IN ('planner', 'land_bureau', 'admin')),
    name        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Derived data cached by analyses and tiles (rebuilt on demand, keyed by layer versions).
CREATE SCHEMA IF NOT EXISTS digitalcity_cache;

-- Change sets: one per load, edit request or revert; every history row names its change set.
CREATE TABLE IF NOT EXISTS digitalcity.changesets (
    id          bigserial   PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('load', 'edit', 'revert')),
    city        text        NOT NULL,
    layer       text        NOT NULL,
    key_id      integer,
    role        text        NOT NULL,
    reason      text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now(),
    reverts     bigint      REFERENCES digitalcity.changesets (id)
);
CREATE INDEX IF NOT EXISTS changesets_layer ON digitalcity.changesets (city, layer, at);

-- Lineage of split and merged features (地块分割与合并): the change set that split feature
-- ``parent`` into ``child`` features (the parent's id among them, kept by its largest part),
-- or merged ``parent`` features into ``child`` (one of their ids).
CREATE TABLE IF NOT EXISTS digitalcity.lineage (
    changeset   bigint  NOT NULL REFERENCES digitalcity.changesets (id),
    city        text    NOT NULL,
    layer       text    NOT NULL,
    kind        text    NOT NULL CHECK (kind IN ('split', 'merge')),
    parent      bigint  NOT NULL,
    child       bigint  NOT NULL,
    PRIMARY KEY (changeset, parent, child)
);
CREATE INDEX IF NOT EXISTS lineage_parent ON digitalcity.lineage (city, layer, parent);
CREATE INDEX IF NOT EXISTS lineage_child ON digitalcity.lineage (city, layer, child);

-- Edits since the version was loaded: item pages and tiles are keyed by (version, revision).
ALTER TABLE digitalcity.layer_versions ADD COLUMN IF NOT EXISTS revision integer NOT NULL DEFAULT 0;

-- Where each edit happened: the envelope (EPSG:3857) of the old and new geometries of its
-- features, by layer version and revision. Tiles are keyed by the last edit that touched them,
-- so an edit changes the key of exactly the tiles it touches.
CREATE TABLE IF NOT EXISTS digitalcity.edit_extents (
    city text NOT NULL,
    layer text NOT NULL,
    version integer NOT NULL,
    revision integer NOT NULL,
    x1 double precision NOT NULL,
    y1 double precision NOT NULL,
    x2 double precision NOT NULL,
    y2 double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS edit_extents_layer
    ON digitalcity.edit_extents (city, layer, version, revision);

-- Pinyin keys of the Chinese values of search fields (digitalcity/pinyin_keys.py): one row
-- per distinct value, whichever layer or version holds it, so search by pinyin works as of
-- any time; and the search fields that hold such values.
CREATE TABLE IF NOT EXISTS digitalcity.pinyin_keys (
    value    text PRIMARY KEY,
    spelled  text NOT NULL,
    initials text NOT NULL
);
CREATE INDEX IF NOT EXISTS pinyin_keys_spelled
    ON digitalcity.pinyin_keys USING gin (spelled gin_trgm_ops);
CREATE INDEX IF NOT EXISTS pinyin_keys_initials
    ON digitalcity.pinyin_keys (initials text_pattern_ops);
CREATE TABLE IF NOT EXISTS digitalcity.pinyin_fields (
    city  text NOT NULL,
    layer text NOT NULL,
    field text NOT NULL,
    PRIMARY KEY (city, layer, field)
);
-- Layer versions whose values have been keyed: a reload that finds the inputs unchanged does
-- not read the layer again.
CREATE TABLE IF NOT EXISTS digitalcity.pinyin_scans (
    city    text    NOT NULL,
    layer   text    NOT NULL,
    version integer NOT NULL,
    PRIMARY KEY (city, layer, version)
);

-- Site boundaries saved from the planner's site check (红线核查) to share by link: read by
-- signed-in callers who hold the token, deleted by the key that saved them or an admin.
CREATE TABLE IF NOT EXISTS digitalcity.sites (
    token      text             PRIMARY KEY,
    city       text             NOT NULL,
    name       text             NOT NULL DEFAULT '',
    crs        text             NOT NULL DEFAULT '',
    area_m2    double precision NOT NULL,
    parts      integer          NOT NULL,
    geom       geometry(MultiPolygon, 4326) NOT NULL,
    key_id     integer,
    role       text             NOT NULL,
    created_at timestamptz      NOT NULL DEFAULT now()
);

-- Files kept with features (附件: photos, scanned deeds), per layer and feature id. Removing
-- one keeps its row (``removed_at``, by whom): who added and removed what stays on record.
CREATE TABLE IF NOT EXISTS digitalcity.attachments (
    id          bigserial   PRIMARY KEY,
    city        text        NOT NULL,
    layer       text        NOT NULL,
    fid         bigint      NOT NULL,
    name        text        NOT NULL,
    media_type  text        NOT NULL,
    size        integer     NOT NULL,
    sha256      text        NOT NULL,
    content     bytea       NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    added_key   integer,
    added_role  text        NOT NULL,
    removed_at  timestamptz,
    removed_key integer,
    removed_role text
);
-- every file of a feature, removed ones too: a past day's card and the history list them
DROP INDEX IF EXISTS digitalcity.attachments_feature;
CREATE INDEX IF NOT EXISTS attachments_of_feature ON digitalcity.attachments (city, layer, fid);
