-- 006: one batch of the collect -> store pipeline in one transaction. Safe to apply more
-- than once (CREATE OR REPLACE cannot change a return type: drop first).

DROP FUNCTION IF EXISTS write_metrics_batch(jsonb);
--
-- write_metrics_batch(batch) is what the Supabase store calls over PostgREST
-- (POST /rest/v1/rpc/write_metrics_batch {"batch": {...}}): a function body runs in one
-- transaction, so a day's rows, its ground truth and the clearing of the window commit
-- together or not at all. The direct PostgreSQL store does the same in its own transaction.
--
--   batch = {"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z",
--            "clear": false,
--            "rows": [{"timestamp": ..., "server_id": ..., "cpu": ..., ...}, ...],
--            "incidents": [{"id": ..., "pattern": ..., "origin_server": ...,
--                           "affected_servers": [...], "intensity": ...,
--                           "started_at": ..., "ended_at": ...}, ...],
--            "rollups": [{"server_id": ..., "hour": ..., "samples": ..., "cpu_min": ...,
--                         ..., "status": ...}, ...]}
--
-- Returns {"rows": metric rows written, "cleared": metric rows the clear deleted}.
-- SECURITY INVOKER: the caller needs the write
-- privileges, which only service_role has.

CREATE OR REPLACE FUNCTION write_metrics_batch(batch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = public
AS $$
DECLARE
    written bigint;
    cleared bigint := 0;
BEGIN
    IF coalesce((batch ->> 'clear')::boolean, false) THEN
        DELETE FROM daily_metrics
        WHERE timestamp >= (batch ->> 'start')::timestamptz
          AND timestamp < (batch ->> 'end')::timestamptz;
        GET DIAGNOSTICS cleared = ROW_COUNT;
        DELETE FROM scenario_execution_log
        WHERE started_at >= (batch ->> 'start')::timestamptz
          AND started_at < (batch ->> 'end')::timestamptz;
    END IF;

    INSERT INTO daily_metrics
        (timestamp, server_id, cpu, memory, disk, response_time,
         network_rx, network_tx, connections, status)
    SELECT timestamp, server_id, cpu, memory, disk, response_time,
           network_rx, network_tx, connections, status
    FROM jsonb_to_recordset(coalesce(batch -> 'rows', '[]'::jsonb)) AS r(
        timestamp timestamptz, server_id varchar(50), cpu numeric, memory numeric,
        disk numeric, response_time integer, network_rx numeric, network_tx numeric,
        connections integer, status varchar(20))
    ON CONFLICT (server_id, timestamp) DO UPDATE SET
        cpu = EXCLUDED.cpu, memory = EXCLUDED.memory, disk = EXCLUDED.disk,
        response_time = EXCLUDED.response_time, network_rx = EXCLUDED.network_rx,
        network_tx = EXCLUDED.network_tx, connections = EXCLUDED.connections,
        status = EXCLUDED.status;
    GET DIAGNOSTICS written = ROW_COUNT;

    INSERT INTO scenario_execution_log
        (id, pattern, origin_server, affected_servers, intensity,
         started_at, ended_at, duration_seconds)
    SELECT id, pattern, origin_server, affected_servers, intensity, started_at, ended_at,
           extract(epoch FROM ended_at - started_at)::integer
    FROM jsonb_to_recordset(coalesce(batch -> 'incidents', '[]'::jsonb)) AS i(
        id text, pattern varchar(50), origin_server varchar(50), affected_servers jsonb,
        intensity numeric, started_at timestamptz, ended_at timestamptz)
    ON CONFLICT (id) DO UPDATE SET
        pattern = EXCLUDED.pattern, origin_server = EXCLUDED.origin_server,
        affected_servers = EXCLUDED.affected_servers, intensity = EXCLUDED.intensity,
        started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
        duration_seconds = EXCLUDED.duration_seconds;

    INSERT INTO server_metrics_history
        (server_id, hour, samples,
        cpu_min, cpu_avg, cpu_max, cpu_p95,
        memory_min, memory_avg, memory_max, memory_p95,
        disk_min, disk_avg, disk_max, disk_p95,
        response_time_min, response_time_avg, response_time_max, response_time_p95,
        network_rx_min, network_rx_avg, network_rx_max, network_rx_p95,
        network_tx_min, network_tx_avg, network_tx_max, network_tx_p95,
        connections_min, connections_avg, connections_max, connections_p95,
        status)
    SELECT server_id, hour, samples,
        cpu_min, cpu_avg, cpu_max, cpu_p95,
        memory_min, memory_avg, memory_max, memory_p95,
        disk_min, disk_avg, disk_max, disk_p95,
        response_time_min, response_time_avg, response_time_max, response_time_p95,
        network_rx_min, network_rx_avg, network_rx_max, network_rx_p95,
        network_tx_min, network_tx_avg, network_tx_max, network_tx_p95,
        connections_min, connections_avg, connections_max, connections_p95,
        status
    FROM jsonb_to_recordset(coalesce(batch -> 'rollups', '[]'::jsonb)) AS h(
        server_id varchar(50), hour timestamptz, samples integer,
        cpu_min numeric, cpu_avg numeric, cpu_max numeric, cpu_p95 numeric,
        memory_min numeric, memory_avg numeric, memory_max numeric, memory_p95 numeric,
        disk_min numeric, disk_avg numeric, disk_max numeric, disk_p95 numeric,
        response_time_min numeric, response_time_avg numeric, response_time_max numeric, response_time_p95 numeric,
        network_rx_min numeric, network_rx_avg numeric, network_rx_max numeric, network_rx_p95 numeric,
        network_tx_min numeric, network_tx_avg numeric, network_tx_max numeric, network_tx_p95 numeric,
        connections_min numeric, connections_avg numeric, connections_max numeric, connections_p95 numeric,
        status varchar(20))
    ON CONFLICT (server_id, hour) DO UPDATE SET
        samples = EXCLUDED.samples,
        cpu_min = EXCLUDED.cpu_min, cpu_avg = EXCLUDED.cpu_avg, cpu_max = EXCLUDED.cpu_max, cpu_p95 = EXCLUDED.cpu_p95,
        memory_min = EXCLUDED.memory_min, memory_avg = EXCLUDED.memory_avg, memory_max = EXCLUDED.memory_max, memory_p95 = EXCLUDED.memory_p95,
        disk_min = EXCLUDED.disk_min, disk_avg = EXCLUDED.disk_avg, disk_max = EXCLUDED.disk_max, disk_p95 = EXCLUDED.disk_p95,
        response_time_min = EXCLUDED.response_time_min, response_time_avg = EXCLUDED.response_time_avg, response_time_max = EXCLUDED.response_time_max, response_time_p95 = EXCLUDED.response_time_p95,
        network_rx_min = EXCLUDED.network_rx_min, network_rx_avg = EXCLUDED.network_rx_avg, network_rx_max = EXCLUDED.network_rx_max, network_rx_p95 = EXCLUDED.network_rx_p95,
        network_tx_min = EXCLUDED.network_tx_min, network_tx_avg = EXCLUDED.network_tx_avg, network_tx_max = EXCLUDED.network_tx_max, network_tx_p95 = EXCLUDED.network_tx_p95,
        connections_min = EXCLUDED.connections_min, connections_avg = EXCLUDED.connections_avg, connections_max = EXCLUDED.connections_max, connections_p95 = EXCLUDED.connections_p95,
        status = EXCLUDED.status;

    RETURN jsonb_build_object('rows', written, 'cleared', cleared);
END;
$$;

REVOKE ALL ON FUNCTION write_metrics_batch(jsonb) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION write_metrics_batch(jsonb) TO service_role;
