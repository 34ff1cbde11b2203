-- 002: row-level security and privileges. Safe to apply more than once.
-- The roles anon, authenticated and service_role exist on every Supabase database; on a plain
-- PostgreSQL create them first (NOLOGIN), as the test fixture does.
--
-- The public (anon) key may only read. Two layers, on purpose:
--   * RLS with a SELECT policy only: writes by anon/authenticated match no policy;
--   * every privilege but SELECT is revoked, so those writes fail loudly ("permission denied")
--     instead of silently touching zero rows (UPDATE/DELETE under RLS alone just match
--     nothing), and the identity sequence cannot be moved (setval) by the public key.
-- service_role bypasses RLS on Supabase (BYPASSRLS); it gets the privileges it needs here.

ALTER TABLE daily_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE server_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE scenario_execution_log ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS daily_metrics_public_read ON daily_metrics;
CREATE POLICY daily_metrics_public_read ON daily_metrics
    FOR SELECT TO anon, authenticated USING (true);

DROP POLICY IF EXISTS server_templates_public_read ON server_templates;
CREATE POLICY server_templates_public_read ON server_templates
    FOR SELECT TO anon, authenticated USING (true);

DROP POLICY IF EXISTS scenario_execution_log_public_read ON scenario_execution_log;
CREATE POLICY scenario_execution_log_public_read ON scenario_execution_log
    FOR SELECT TO anon, authenticated USING (true);

GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

-- Supabase's default privileges grant ALL on every new table, view, sequence and function to
-- anon and authenticated (and service_role). Take everything back first, then grant only
-- what each role needs: reads for the public roles, reads and writes for the service role.
REVOKE ALL
    ON daily_metrics, server_templates, scenario_execution_log
    FROM anon, authenticated, service_role;
REVOKE ALL ON SEQUENCE daily_metrics_id_seq FROM anon, authenticated, service_role;

GRANT SELECT
    ON daily_metrics, server_templates, scenario_execution_log
    TO anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE
    ON daily_metrics, server_templates, scenario_execution_log
    TO service_role;
-- inserts into daily_metrics draw ids from its identity sequence
GRANT USAGE, SELECT ON SEQUENCE daily_metrics_id_seq TO service_role;
