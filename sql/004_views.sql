-- 004: views for the seeds' example queries. Safe to apply more than once.
-- security_invoker (PostgreSQL 15+): the views run with the caller's rights, so RLS on
-- daily_metrics applies through them instead of being bypassed by the view owner.
-- Views carry no order; add the seeds' ORDER BY when reading them.

CREATE OR REPLACE VIEW daily_metrics_status_distribution
WITH (security_invoker = true) AS
SELECT status, count(*) AS count
FROM daily_metrics
GROUP BY status;

CREATE OR REPLACE VIEW daily_metrics_server_failures
WITH (security_invoker = true) AS
SELECT server_id, status, count(*) AS count
FROM daily_metrics
WHERE status <> 'healthy'
GROUP BY server_id, status;

CREATE OR REPLACE VIEW daily_metrics_hourly_critical
WITH (security_invoker = true) AS
-- hours are UTC whatever the session's TimeZone
SELECT date_trunc('hour', timestamp, 'UTC') AS hour,
       count(*) AS total,
       count(*) FILTER (WHERE status = 'critical') AS critical_count
FROM daily_metrics
GROUP BY 1;

-- Supabase's default privileges grant ALL on new views to the API roles: reads only.
REVOKE ALL
    ON daily_metrics_status_distribution, daily_metrics_server_failures,
       daily_metrics_hourly_critical
    FROM anon, authenticated, service_role;
GRANT SELECT
    ON daily_metrics_status_distribution, daily_metrics_server_failures,
       daily_metrics_hourly_critical
    TO anon, authenticated, service_role;
