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

-- Making and revoking keys is in the audit log too (without the hash, which the audit
-- function strips).
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION cita_audit();
