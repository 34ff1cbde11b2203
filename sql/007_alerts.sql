-- 007: the alert engine's durable state (docs/alerts.md). Safe to apply more than once.
--
-- alert_engine_state   one row ('engine'): the engine's state document (alerts by
--                      fingerprint, groups, silences, the last evaluated tick) and a version
--                      for compare-and-set: an evaluation writes only if nobody wrote since
--                      it read, so concurrent evaluations of a tick cannot both advance it.
-- alert_notifications  the outbox: one row per notification and channel, keyed by the
--                      notification's deterministic key, so a retried or concurrent
--                      evaluation inserts nothing twice; delivered_at stays NULL until a
--                      channel accepts it, and every attempt is counted.
-- alert_history        every alert state change, keyed (fingerprint, at, to_state).
--
-- Only the service role reads or writes them (no public read: labels and silences are
-- operational data). The functions below are what both stores call: the PostgreSQL store
-- with SELECT, the Supabase store over PostgREST (POST /rest/v1/rpc/<name> {"request": …}).

CREATE TABLE IF NOT EXISTS alert_engine_state (
    id          text         PRIMARY KEY CHECK (id = 'engine'),
    version     bigint       NOT NULL CHECK (version > 0),
    last_tick   timestamptz,
    state       jsonb        NOT NULL,
    updated_at  timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS alert_notifications (
    key           text         NOT NULL,
    channel       text         NOT NULL,
    group_key     text         NOT NULL,
    status        varchar(10)  NOT NULL CHECK (status IN ('firing', 'resolved')),
    at            timestamptz  NOT NULL,
    payload       jsonb        NOT NULL,
    attempts      integer      NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    delivered_at  timestamptz,
    last_error    text,
    created_at    timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (key, channel)
);
CREATE INDEX IF NOT EXISTS alert_notifications_pending_idx
    ON alert_notifications (at) WHERE delivered_at IS NULL;

CREATE TABLE IF NOT EXISTS alert_history (
    fingerprint  text         NOT NULL,
    at           timestamptz  NOT NULL,
    to_state     varchar(10)  NOT NULL,
    from_state   varchar(10)  NOT NULL,
    server_id    text         NOT NULL,
    severity     varchar(10)  NOT NULL,
    labels       jsonb        NOT NULL,
    value        double precision,
    group_key    text,
    PRIMARY KEY (fingerprint, at, to_state)
);
CREATE INDEX IF NOT EXISTS alert_history_at_idx ON alert_history (at DESC, fingerprint);

ALTER TABLE alert_engine_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_history ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON alert_engine_state, alert_notifications, alert_history
    FROM anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON alert_engine_state, alert_notifications, alert_history
    TO service_role;

-- alert_state_load({}) -> {"version": n, "state": {...}} or null
CREATE OR REPLACE FUNCTION alert_state_load(request jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = public
AS $$
    SELECT jsonb_build_object('version', version, 'state', state)
    FROM alert_engine_state WHERE id = 'engine';
$$;

-- alert_state_save({"expected": n, "state": {...}, "last_tick": iso}) -> true when written:
-- expected 0 creates the row (false if it exists), n updates version n to n + 1.
CREATE OR REPLACE FUNCTION alert_state_save(request jsonb)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = public
AS $$
DECLARE
    expected bigint := (request ->> 'expected')::bigint;
    written bigint;
BEGIN
    IF expected = 0 THEN
        INSERT INTO alert_engine_state (id, version, last_tick, state)
        VALUES ('engine', 1, (request ->> 'last_tick')::timestamptz, request -> 'state')
        ON CONFLICT (id) DO NOTHING;
    ELSE
        UPDATE alert_engine_state
        SET version = expected + 1, last_tick = (request ->> 'last_tick')::timestamptz,
            state = request -> 'state', updated_at = now()
        WHERE id = 'engine' AND version = expected;
    END IF;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written = 1;
END;
$$;

-- alert_records_add({"notifications": [...], "events": [...]}) -> {"notifications": n,
-- "events": n} newly inserted (existing keys are left as they are).
CREATE OR REPLACE FUNCTION alert_records_add(request jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = public
AS $$
DECLARE
    added_notifications bigint;
    added_events bigint;
BEGIN
    INSERT INTO alert_notifications (key, channel, group_key, status, at, payload)
    SELECT key, channel, group_key, status, at, payload
    FROM jsonb_to_recordset(coalesce(request -> 'notifications', '[]'::jsonb)) AS n(
        key text, channel text, group_key text, status varchar(10), at timestamptz,
        payload jsonb)
    ON CONFLICT (key, channel) DO NOTHING;
    GET DIAGNOSTICS added_notifications = ROW_COUNT;

    INSERT INTO alert_history
        (fingerprint, at, to_state, from_state, server_id, severity, labels, value, group_key)
    SELECT fingerprint, at, to_state, from_state, server_id, severity, labels, value, group_key
    FROM jsonb_to_recordset(coalesce(request -> 'events', '[]'::jsonb)) AS e(
        fingerprint text, at timestamptz, to_state varchar(10), from_state varchar(10),
        server_id text, severity varchar(10), labels jsonb, value double precision,
        group_key text)
    ON CONFLICT (fingerprint, at, to_state) DO NOTHING;
    GET DIAGNOSTICS added_events = ROW_COUNT;
    RETURN jsonb_build_object('notifications', added_notifications, 'events', added_events);
END;
$$;

-- alert_pending({"limit": n, "max_attempts": m}) -> [{key, channel, ..., payload}], oldest
-- first: what no channel has accepted yet.
CREATE OR REPLACE FUNCTION alert_pending(request jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = public
AS $$
    SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.at, p.key, p.channel), '[]'::jsonb)
    FROM (SELECT key, channel, group_key, status, at, payload, attempts, delivered_at,
                 last_error
          FROM alert_notifications
          WHERE delivered_at IS NULL
            AND attempts < coalesce((request ->> 'max_attempts')::integer, 2147483647)
          ORDER BY at, key, channel
          LIMIT coalesce((request ->> 'limit')::integer, 100)) AS p;
$$;

-- alert_delivery_record({"key", "channel", "delivered_at": iso|null, "error": text|null}):
-- one more attempt, and its outcome.
CREATE OR REPLACE FUNCTION alert_delivery_record(request jsonb)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = public
AS $$
DECLARE
    written bigint;
BEGIN
    UPDATE alert_notifications
    SET attempts = attempts + 1,
        delivered_at = (request ->> 'delivered_at')::timestamptz,
        last_error = request ->> 'error'
    WHERE key = request ->> 'key' AND channel = request ->> 'channel'
      AND delivered_at IS NULL;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written = 1;
END;
$$;

-- alert_history_page({"server_id": text|null, "severity": text|null, "limit": n,
-- "before_at": iso|null, "before_fingerprint": text|null}) -> newest first, keyset-paged.
CREATE OR REPLACE FUNCTION alert_history_page(request jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = public
AS $$
    SELECT coalesce(jsonb_agg(to_jsonb(h) ORDER BY h.at DESC, h.fingerprint DESC, h.to_state),
                    '[]'::jsonb)
    FROM (SELECT fingerprint, at, to_state, from_state, server_id, severity, labels, value,
                 group_key
          FROM alert_history
          WHERE (request ->> 'server_id' IS NULL OR server_id = request ->> 'server_id')
            AND (request ->> 'severity' IS NULL OR severity = request ->> 'severity')
            AND (request ->> 'before_at' IS NULL
                 OR (at, fingerprint) < ((request ->> 'before_at')::timestamptz,
                                         request ->> 'before_fingerprint'))
          ORDER BY at DESC, fingerprint DESC, to_state
          LIMIT coalesce((request ->> 'limit')::integer, 100)) AS h;
$$;

REVOKE ALL ON FUNCTION alert_state_load(jsonb), alert_state_save(jsonb),
    alert_records_add(jsonb), alert_pending(jsonb), alert_delivery_record(jsonb),
    alert_history_page(jsonb) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION alert_state_load(jsonb), alert_state_save(jsonb),
    alert_records_add(jsonb), alert_pending(jsonb), alert_delivery_record(jsonb),
    alert_history_page(jsonb) TO service_role;
