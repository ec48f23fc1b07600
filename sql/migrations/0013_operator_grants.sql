-- Platform operators. `cita-api operator-token` records a grant and prints a token for
-- it; the token reads one organization's tenant routes, named in each request, and every
-- such request is in that organization's audit log, where its owner sees it.
CREATE TABLE operator_grants (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    operator   text NOT NULL CHECK (operator <> ''),
    reason     text NOT NULL CHECK (reason <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

ALTER TABLE audit_log
    DROP CONSTRAINT audit_log_actor_kind_check,
    ADD CONSTRAINT audit_log_actor_kind_check
        CHECK (actor_kind IN ('staff', 'customer', 'operator')),
    DROP CONSTRAINT audit_log_operation_check,
    ADD CONSTRAINT audit_log_operation_check
        CHECK (operation IN ('insert', 'update', 'delete', 'read'));

-- Checks the grant and logs the request in one statement, so that no request is served
-- on a grant without its audit entry. The API's role may run it, and may neither read
-- the grants nor write the log otherwise. Answers 'granted', 'no_grant' (unknown,
-- revoked or expired) or 'no_organization'.
CREATE FUNCTION operator_access(grant_id uuid, organization uuid, method text, path text,
                                at timestamptz)
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
    AS $$
DECLARE
    who text;
BEGIN
    SELECT operator INTO who FROM operator_grants
    WHERE id = grant_id AND revoked_at IS NULL AND expires_at > at;
    IF who IS NULL THEN
        RETURN 'no_grant';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM organizations WHERE id = organization) THEN
        RETURN 'no_organization';
    END IF;
    INSERT INTO audit_log (organization_id, at, actor_kind, actor_id, channel, action,
                           entity, operation, after)
    VALUES (organization, at, 'operator', grant_id, 'api', 'operator_read', 'request', 'read',
            jsonb_build_object('operator', who, 'method', method, 'path', path));
    RETURN 'granted';
END
$$;
REVOKE ALL ON FUNCTION operator_access(uuid, uuid, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION operator_access(uuid, uuid, text, text, timestamptz) TO cita_api;
