-- API keys for an owner's integrations. A key acts as the owner who made it, narrowed to
-- its scopes: `read` (every GET), and writes per area — `appointments` (bookings, walk-ins,
-- blocks, closures), `catalog` (services, team, hours), `settings` (settings, business
-- information), `customers`. Only the SHA-256 of the key is kept: it is 32 random bytes,
-- shown once. What a key changes is in the audit log with its id.

CREATE TABLE api_keys (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    staff_id        uuid NOT NULL,
    name            text NOT NULL CHECK (name <> '' AND length(name) <= 80),
    scopes          text[] NOT NULL CHECK (
        cardinality(scopes) > 0
        AND scopes <@ ARRAY['read', 'appointments', 'catalog', 'settings', 'customers']),
    key_hash        bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    FOREIGN KEY (organization_id, staff_id) REFERENCES staff (organization_id, id) ON DELETE CASCADE
);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON api_keys USING (organization_id = cita_tenant())
    WITH CHECK (organization_id = cita_tenant());
GRANT SELECT, INSERT, UPDATE ON api_keys TO cita_api;

-- Whose key this is, if it is live: asked before the organization is known. The key dies
-- with its owner's membership or ownership.
CREATE FUNCTION api_key(hash bytea)
    RETURNS TABLE (id uuid, organization_id uuid, staff_id uuid, scopes text[],
                   permissions text[])
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
        SELECT k.id, k.organization_id, k.staff_id, k.scopes, s.permissions
        FROM api_keys k
        JOIN staff s ON s.id = k.staff_id
        JOIN organizations o ON o.id = k.organization_id
        WHERE k.key_hash = hash AND k.revoked_at IS NULL AND s.active AND s.role = 'owner'
          AND o.status <> 'suspended'
    $$;
REVOKE ALL ON FUNCTION api_key(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key(bytea) TO cita_api;

-- The audit log names the key a change was made with, and logs the keys themselves
-- (without their hash) when the API makes or revokes one.
ALTER TABLE audit_log ADD COLUMN api_key_id uuid;

-- It now runs with its owner's rights: the API's role writes its own tables (the keys)
-- under audit, but may not write the audit log itself.
CREATE OR REPLACE FUNCTION cita_audit() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
    AS $$
DECLARE
    who     jsonb := nullif(current_setting('cita.audit', true), '')::jsonb;
    old_row jsonb;
    new_row jsonb;
    row     jsonb;
BEGIN
    IF who IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD) - 'access_token_ciphertext' - 'access_token_key_id'
                   - 'updated_at' - 'key_hash';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW) - 'access_token_ciphertext' - 'access_token_key_id'
                   - 'updated_at' - 'key_hash';
    END IF;
    IF old_row = new_row THEN
        RETURN NULL;
    END IF;
    row := coalesce(new_row, old_row);
    INSERT INTO audit_log (organization_id, actor_kind, actor_id, channel, action, entity,
                           entity_id, operation, before, after, api_key_id)
    VALUES (
        CASE WHEN TG_TABLE_NAME = 'organizations' THEN (row ->> 'id')::uuid
             ELSE (row ->> 'organization_id')::uuid END,
        who ->> 'actor_kind', (who ->> 'actor_id')::uuid, who ->> 'channel', who ->> 'action',
        TG_TABLE_NAME,
        coalesce(row ->> 'id', row ->> 'staff_id')::uuid,
        lower(TG_OP), old_row, new_row, (who ->> 'api_key_id')::uuid);
    RETURN NULL;
END
$$;

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION cita_audit();
