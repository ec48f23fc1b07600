-- Reads for the API, cheaper and cacheable.
--
-- 1. Row-level security names the tenant once per statement. `cita_tenant()` in a policy
--    is evaluated for every row it filters (a text-to-uuid cast each time); as a scalar
--    subquery it becomes an initplan, computed once. Same policies, same meaning.
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN
        SELECT tablename, qual, with_check FROM pg_policies
        WHERE schemaname = current_schema() AND policyname = 'tenant'
          AND qual LIKE '%cita_tenant()%' AND qual NOT LIKE '%SELECT cita_tenant()%'
    LOOP
        EXECUTE format('ALTER POLICY tenant ON %I USING (%s)', p.tablename,
                       replace(p.qual, 'cita_tenant()', '(SELECT cita_tenant())'));
        IF p.with_check IS NOT NULL THEN
            EXECUTE format('ALTER POLICY tenant ON %I WITH CHECK (%s)', p.tablename,
                           replace(p.with_check, 'cita_tenant()', '(SELECT cita_tenant())'));
        END IF;
    END LOOP;
END
$$;

-- 2. Every committed change to what an appointment list shows names its organization on
--    the `cita_reads` channel. NOTIFY is delivered at commit and only then, so the API's
--    read cache drops an organization's lists exactly when they stop being true, whoever
--    wrote: scheduling, another worker, or SQL by hand.
CREATE FUNCTION notify_reads() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('cita_reads', OLD.organization_id::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('cita_reads', NEW.organization_id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER appointments_notify_reads
    AFTER INSERT OR UPDATE OR DELETE ON appointments
    FOR EACH ROW EXECUTE FUNCTION notify_reads();

CREATE TRIGGER customers_notify_reads
    AFTER UPDATE OF name, phone OR DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION notify_reads();
