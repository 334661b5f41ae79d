-- Events: one row per pageview, engagement report or custom event.
-- Written for ClickHouse 18.16 and current releases alike: no TTL, no LowCardinality.
CREATE TABLE IF NOT EXISTS events (
    site_id         UInt32,
    timestamp       DateTime,
    name            String,
    visitor_id      UInt64,
    session_id      UInt64,
    hostname        String,
    pathname        String,
    title           String,
    referrer_host   String,
    referrer_path   String,
    referrer_source String,
    channel         String,
    utm_source      String,
    utm_medium      String,
    utm_campaign    String,
    utm_content     String,
    utm_term        String,
    country         String,
    browser         String,
    browser_version String,
    os              String,
    os_version      String,
    device          String,
    screen          String,
    language        String,
    ip              String,
    prop_keys       Array(String),
    prop_values     Array(String),
    engagement_ms   UInt32,
    scroll_depth    UInt8,
    batch_id        UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site_id, toDate(timestamp), visitor_id, timestamp);

-- Sessions: visit state, collapsed by sign (old state -1, new state +1).
CREATE TABLE IF NOT EXISTS sessions (
    site_id         UInt32,
    session_id      UInt64,
    visitor_id      UInt64,
    sign            Int8,
    start           DateTime,
    end             DateTime,
    duration        UInt32,
    pageviews       UInt32,
    events          UInt32,
    interactions    UInt32,
    is_bounce       UInt8,
    entry_page      String,
    exit_page       String,
    hostname        String,
    referrer_host   String,
    referrer_path   String,
    referrer_source String,
    channel         String,
    utm_source      String,
    utm_medium      String,
    utm_campaign    String,
    utm_content     String,
    utm_term        String,
    country         String,
    browser         String,
    browser_version String,
    os              String,
    os_version      String,
    device          String,
    screen          String,
    language        String,
    batch_id        UInt64
) ENGINE = CollapsingMergeTree(sign)
PARTITION BY toYYYYMM(start)
ORDER BY (site_id, toDate(start), session_id);

-- Sites: the newest version of a row wins; deleted rows are kept as tombstones.
CREATE TABLE IF NOT EXISTS sites (
    id              UInt32,
    domain          String,
    timezone        String,
    matomo_id       UInt32,
    ip_truncation   UInt8,
    excluded_ips    Array(String),
    excluded_paths  Array(String),
    keep_params     Array(String),
    honor_dnt       UInt8,
    honor_gpc       UInt8,
    retention_days  UInt32,
    created         DateTime,
    version         UInt64,
    deleted         UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS users (
    email           String,
    password_hash   String,
    role            String,
    site_ids        Array(UInt32),
    created         DateTime,
    version         UInt64,
    deleted         UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY email;

CREATE TABLE IF NOT EXISTS tokens (
    token_hash      String,
    email           String,
    name            String,
    created         DateTime,
    version         UInt64,
    deleted         UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY token_hash;

-- Salts: one random salt a day, shared by every collector; a day's partition
-- is dropped 48 hours after the day began.
CREATE TABLE IF NOT EXISTS salts (
    day             Date,
    salt            String,
    created         DateTime
) ENGINE = MergeTree()
PARTITION BY day
ORDER BY (day, created, salt);
