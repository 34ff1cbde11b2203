-- 005: hourly history (the seeds' server_metrics_history). Safe to apply more than once.
--
-- One row per server per UTC hour: the number of samples, min / avg / max / p95 of each
-- metric over the hour's samples (p95 interpolated linearly between the two nearest ranks,
-- as numpy's default), and the worst status. The batch writes them with the hour's rows and
-- keeps them HISTORY_RETENTION_DAYS (90 by default), long after raw rows are pruned.
-- GET /api/metrics/history reads them (resolution 1h, or 1d rolled up from the hours).

CREATE TABLE IF NOT EXISTS server_metrics_history (
    server_id   varchar(50)  NOT NULL,
    hour        timestamptz  NOT NULL,
    samples     integer      NOT NULL CHECK (samples > 0),
    cpu_min numeric(12, 2), cpu_avg numeric(12, 2), cpu_max numeric(12, 2), cpu_p95 numeric(12, 2),
    memory_min numeric(12, 2), memory_avg numeric(12, 2), memory_max numeric(12, 2), memory_p95 numeric(12, 2),
    disk_min numeric(12, 2), disk_avg numeric(12, 2), disk_max numeric(12, 2), disk_p95 numeric(12, 2),
    response_time_min numeric(12, 2), response_time_avg numeric(12, 2), response_time_max numeric(12, 2), response_time_p95 numeric(12, 2),
    network_rx_min numeric(12, 2), network_rx_avg numeric(12, 2), network_rx_max numeric(12, 2), network_rx_p95 numeric(12, 2),
    network_tx_min numeric(12, 2), network_tx_avg numeric(12, 2), network_tx_max numeric(12, 2), network_tx_p95 numeric(12, 2),
    connections_min numeric(12, 2), connections_avg numeric(12, 2), connections_max numeric(12, 2), connections_p95 numeric(12, 2),
    status      varchar(20)  NOT NULL
                CONSTRAINT server_metrics_history_status_check
                CHECK (status IN ('healthy', 'warning', 'critical')),
    created_at  timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT server_metrics_history_pkey PRIMARY KEY (server_id, hour)
);

-- prune: rows older than a cutoff
CREATE INDEX IF NOT EXISTS server_metrics_history_hour_idx ON server_metrics_history (hour);

-- Row-level security and privileges as for the other tables (002): the public roles read,
-- the service role writes, nothing else — Supabase's default grants are taken back first.
ALTER TABLE server_metrics_history ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS server_metrics_history_public_read ON server_metrics_history;
CREATE POLICY server_metrics_history_public_read ON server_metrics_history
    FOR SELECT TO anon, authenticated USING (true);
REVOKE ALL ON server_metrics_history FROM anon, authenticated, service_role;
GRANT SELECT ON server_metrics_history TO anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON server_metrics_history TO service_role;
