-- The owner API (cita-api): its database role under row-level security, and its own
-- state: login codes sent over WhatsApp, sessions and their refresh tokens.
--
-- The API takes the role cita_api on every connection (SET ROLE). The role has no
-- BYPASSRLS and owns nothing, so every policy below applies to it. The workers connect as
-- the tables' owner, which policies do not restrict: they serve every tenant, one message
-- at a time, and their queries name the organization themselves.

-- Roles belong to the server, not the database: several databases migrating at once (the
-- tests do) may race to create it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cita_api') THEN
        CREATE ROLE cita_api NOLOGIN NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
-- The migrating user (the one the API connects as, by default) may take the role.
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'cita_api', 'MEMBER') THEN
        EXECUTE format('GRANT cita_api TO %I', current_user);
    END IF;
END
$$;

-- The organization of the current transaction, set by the API with
-- set_config('cita.organization_id', …, true). Unset, it is NULL and matches no row.
CREATE FUNCTION cita_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('cita.organization_id', true), '')::uuid $$;

-- A remembered command also remembers what was asked (SHA-256 of the request), so the
-- same idempotency key with a different request is refused instead of answered with the
-- first one's reply. Rows from before have none and replay as they did.
ALTER TABLE command_results ADD COLUMN request_digest bytea;

-- Identity -----------------------------------------------------------------------------

-- A six-digit code sent to a staff member's WhatsApp. Only an HMAC of it is stored (six
-- digits hashed without a key are a million guesses away).
CREATE TABLE login_codes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    staff_id        uuid NOT NULL,
    code_hash       bytea NOT NULL,
    expires_at      timestamptz NOT NULL,
    failed_attempts smallint NOT NULL DEFAULT 0,
    spent_at        timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, staff_id) REFERENCES staff (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX login_codes_staff ON login_codes (staff_id, created_at DESC);

-- One login: a family of refresh tokens, each spent by the refresh that replaces it.
CREATE TABLE api_sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    staff_id        uuid NOT NULL,
    user_agent      text,
    ip              text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    -- logout, revoked, refresh_reused
    revoked_reason  text,
    FOREIGN KEY (organization_id, staff_id) REFERENCES staff (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX api_sessions_staff ON api_sessions (staff_id, created_at DESC);

CREATE TABLE refresh_tokens (
    token_hash      bytea PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    session_id      uuid NOT NULL REFERENCES api_sessions ON DELETE CASCADE,
    issued_at       timestamptz NOT NULL DEFAULT now(),
    spent_at        timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Who may log in with a phone number: its active staff memberships in organizations that
-- are not suspended. The one lookup the API makes before it knows the organization, so it
-- runs with its owner's rights and returns only what a login needs.
CREATE FUNCTION api_members(phones text[])
    RETURNS TABLE (staff_id uuid, organization_id uuid, slug text, locale text, phone text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
        SELECT s.id, s.organization_id, o.slug, o.locale, s.phone
        FROM staff s JOIN organizations o ON o.id = s.organization_id
        WHERE s.phone = ANY (phones) AND s.active AND o.status <> 'suspended'
        ORDER BY (s.role = 'owner') DESC, s.created_at
    $$;
REVOKE ALL ON FUNCTION api_members(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_members(text[]) TO cita_api;

-- Whether an access token's session is still open, and what its member may do: asked on
-- every request, in one statement (no transaction to open for it). The caller has
-- verified the token; the ids come from it.
CREATE FUNCTION api_session(session uuid, member uuid, at timestamptz)
    RETURNS TABLE (organization_id uuid, owner boolean, permissions text[])
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
        SELECT s.organization_id, s.role = 'owner', s.permissions
        FROM api_sessions x JOIN staff s ON s.id = x.staff_id
        WHERE x.id = session AND x.staff_id = member AND x.revoked_at IS NULL
          AND x.expires_at > at AND s.active
    $$;
REVOKE ALL ON FUNCTION api_session(uuid, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_session(uuid, uuid, timestamptz) TO cita_api;

-- Row-level security on every tenant table ----------------------------------------------

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON organizations USING (id = cita_tenant());

DO $$
DECLARE
    tenant_table text;
BEGIN
    FOR tenant_table IN
        SELECT c.table_name
        FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = current_schema()
          AND c.column_name = 'organization_id'
          AND t.table_type = 'BASE TABLE'
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tenant_table);
        EXECUTE format(
            'CREATE POLICY tenant ON %I USING (organization_id = cita_tenant()) '
            'WITH CHECK (organization_id = cita_tenant())',
            tenant_table);
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO cita_api;
GRANT SELECT ON organizations, locations, business_hours, service_types, staff,
    staff_services, staff_working_hours, customers, availability_exceptions, appointments,
    conversations, messages, ai_usage TO cita_api;
GRANT SELECT, INSERT, UPDATE ON login_codes, api_sessions, refresh_tokens TO cita_api;
