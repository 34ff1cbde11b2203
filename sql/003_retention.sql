-- 003: retention. Safe to apply more than once.
--
-- prune_daily_metrics(cutoff) deletes metric rows older than cutoff and ground-truth records
-- of incidents that ended before it; it returns the number of metric rows deleted.
-- Call it from the batch job, from pg_cron, or over PostgREST:
--   SELECT prune_daily_metrics(now() - interval '24 hours');
--   POST /rest/v1/rpc/prune_daily_metrics  {"cutoff": "2024-01-01T00:00:00Z"}
-- SECURITY INVOKER (the default): the caller needs DELETE, which only service_role and the
-- owner have, so the public key cannot prune through RPC either.

CREATE OR REPLACE FUNCTION prune_daily_metrics(cutoff timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = public
AS $$
DECLARE
    deleted bigint;
BEGIN
    DELETE FROM daily_metrics WHERE timestamp < cutoff;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    DELETE FROM scenario_execution_log WHERE ended_at < cutoff;
    RETURN deleted;
END;
$$;

REVOKE EXECUTE ON FUNCTION prune_daily_metrics(timestamptz) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION prune_daily_metrics(timestamptz) TO service_role;
