-- Dashboard metadata: goals, sign-in sessions and shared links.
-- ReplacingMergeTree tables read with FINAL; deletes are tombstones.
CREATE TABLE IF NOT EXISTS goals (
    site_id         UInt32,
    id              String,
    kind            String,
    value           String,
    created         DateTime,
    version         UInt64,
    deleted         UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY (site_id, id);

-- Only the SHA-256 of a session's cookie value is stored.
CREATE TABLE IF NOT EXISTS dashboard_sessions (
    id_hash         String,
    email           String,
    csrf            String,
    expires         DateTime,
    version         UInt64,
    deleted         UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY id_hash;

CREATE TABLE IF NOT EXISTS shared_links (
    id_hash         String,
    site_id         UInt32,
    name            String,
    password_hash   String,
    created         DateTime,
    version         UInt64,
    deleted         UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY id_hash;
