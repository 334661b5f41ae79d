-- Rollups for large report ranges, kept by materialized views on every
-- insert into events and sessions. Each exists per UTC hour (for any
-- timezone's day and hour buckets) and per UTC day (fewer states to merge in
-- the middle of a long range). Visitors are HyperLogLog states (uniqHLL12),
-- used only above storage.ExactVisitorsBelow events in a range. POPULATE
-- fills them from the data already stored when the migration runs.
CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_events_hourly
ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(t) ORDER BY (site_id, t)
POPULATE AS SELECT
    site_id,
    toStartOfHour(timestamp) AS t,
    uniqHLL12State(visitor_id) AS visitors,
    sumState(toUInt64(name = 'pageview')) AS pageviews,
    sumState(toUInt64(name != 'engagement')) AS events
FROM events GROUP BY site_id, t;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_events_daily
ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(t) ORDER BY (site_id, t)
POPULATE AS SELECT
    site_id,
    toDateTime(toDate(timestamp)) AS t,
    uniqHLL12State(visitor_id) AS visitors,
    sumState(toUInt64(name = 'pageview')) AS pageviews,
    sumState(toUInt64(name != 'engagement')) AS events
FROM events GROUP BY site_id, t;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_sessions_hourly
ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(t) ORDER BY (site_id, t)
POPULATE AS SELECT
    site_id,
    toStartOfHour(start) AS t,
    sumState(toInt64(sign)) AS visits,
    sumState(toInt64(sign * is_bounce)) AS bounces,
    sumState(toInt64(sign * duration)) AS duration,
    sumState(toInt64(sign * pageviews)) AS pageviews
FROM sessions GROUP BY site_id, t;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_dims_hourly
ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(t) ORDER BY (site_id, dim, t, value)
POPULATE AS SELECT
    site_id,
    toStartOfHour(start) AS t,
    d.1 AS dim,
    d.2 AS value,
    uniqHLL12State(visitor_id) AS visitors,
    sumState(toInt64(sign)) AS visits,
    sumState(toInt64(sign * is_bounce)) AS bounces,
    sumState(toInt64(sign * duration)) AS duration,
    sumState(toInt64(sign * pageviews)) AS pageviews
FROM sessions
ARRAY JOIN [('visit:source', referrer_source), ('visit:channel', channel), ('visit:country', country),
    ('visit:device', device), ('visit:browser', browser), ('visit:os', os), ('visit:screen', screen),
    ('visit:language', language)] AS d
GROUP BY site_id, t, dim, value;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_dims_daily
ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(t) ORDER BY (site_id, dim, t, value)
POPULATE AS SELECT
    site_id,
    toDateTime(toDate(start)) AS t,
    d.1 AS dim,
    d.2 AS value,
    uniqHLL12State(visitor_id) AS visitors,
    sumState(toInt64(sign)) AS visits,
    sumState(toInt64(sign * is_bounce)) AS bounces,
    sumState(toInt64(sign * duration)) AS duration,
    sumState(toInt64(sign * pageviews)) AS pageviews
FROM sessions
ARRAY JOIN [('visit:source', referrer_source), ('visit:channel', channel), ('visit:country', country),
    ('visit:device', device), ('visit:browser', browser), ('visit:os', os), ('visit:screen', screen),
    ('visit:language', language)] AS d
GROUP BY site_id, t, dim, value;

-- Pageviews per page, to rank pages cheaply: plain sums, no states.
CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_page_views_hourly
ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(t) ORDER BY (site_id, t, pathname)
POPULATE AS SELECT
    site_id,
    toStartOfHour(timestamp) AS t,
    pathname,
    count() AS pageviews
FROM events WHERE name = 'pageview' GROUP BY site_id, t, pathname;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_page_views_daily
ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(t) ORDER BY (site_id, t, pathname)
POPULATE AS SELECT
    site_id,
    toDateTime(toDate(timestamp)) AS t,
    pathname,
    count() AS pageviews
FROM events WHERE name = 'pageview' GROUP BY site_id, t, pathname;

-- Visitors and engagement of each page per UTC day, read for the top
-- pages only (keyed by page first); the hours at a range's edges come from
-- raw rows, which keeps per-hour states of every page out of storage.
CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_pages_daily
ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(t) ORDER BY (site_id, pathname, t)
POPULATE AS SELECT
    site_id,
    toDateTime(toDate(timestamp)) AS t,
    pathname,
    uniqHLL12IfState(visitor_id, name = 'pageview') AS visitors,
    sumState(toUInt64(name = 'pageview')) AS pageviews,
    sumState(toUInt64(engagement_ms)) AS engagement_ms
FROM events WHERE name IN ('pageview', 'engagement') GROUP BY site_id, t, pathname;
