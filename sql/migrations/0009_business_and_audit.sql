-- What the owner manages besides appointments — the business's own information, its
-- settings under optimistic concurrency, what staff keep about customers — and the audit
-- log of every change a person makes, through the API or the chat; and calendar feeds.

-- The business, as customers and the assistant should know it.
ALTER TABLE organizations
    ADD COLUMN description     text CHECK (length(description) <= 2000),
    -- How customers may pay: 'efectivo', 'tarjeta', 'transferencia', … (free text).
    ADD COLUMN payment_methods text[] NOT NULL DEFAULT '{}'
        CHECK (array_position(payment_methods, NULL) IS NULL),
    -- Where a review request sends the customer (their Google or Facebook page).
    ADD COLUMN review_link     text CHECK (review_link ~ '^https://[^[:space:]]+$'),
    -- How close to an appointment a customer may still move or cancel it; 0: until it starts.
    ADD COLUMN change_cutoff_minutes integer NOT NULL DEFAULT 0
        CHECK (change_cutoff_minutes BETWEEN 0 AND 10080),
    -- Bumped by every change of the settings: the API's ETag.
    ADD COLUMN settings_version bigint NOT NULL DEFAULT 1;

ALTER TABLE locations ADD COLUMN directions text CHECK (length(directions) <= 1000);

CREATE TABLE faq_entries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    position        integer NOT NULL,
    question        text NOT NULL CHECK (question <> '' AND length(question) <= 300),
    answer          text NOT NULL CHECK (answer <> '' AND length(answer) <= 2000),
    UNIQUE (organization_id, position)
);

ALTER TABLE customers
    ADD COLUMN email text CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    ADD COLUMN tags  text[] NOT NULL DEFAULT '{}' CHECK (array_position(tags, NULL) IS NULL);

-- The audit log ---------------------------------------------------------------------------

-- One row per row a person's command changed: who (and through which channel), which
-- command, and the row before and after. Written by triggers, so it is in the same
-- transaction as the change and cannot be forgotten by a new operation. Scheduling says
-- who is acting with set_config('cita.audit', '{…}', true) at the start of each command;
-- changes made without it (the workers' bookkeeping) are not a person's and are not logged.
CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    at              timestamptz NOT NULL DEFAULT now(),
    actor_kind      text NOT NULL CHECK (actor_kind IN ('staff', 'customer')),
    actor_id        uuid NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('whatsapp', 'api')),
    action          text NOT NULL,
    entity          text NOT NULL,
    entity_id       uuid,
    operation       text NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
    before          jsonb,
    after           jsonb,
    -- The API key the change was made with (migration 0010), if any.
    api_key_id      uuid
);
CREATE INDEX audit_log_organization ON audit_log (organization_id, id DESC);
CREATE INDEX audit_log_entity ON audit_log (organization_id, entity_id) WHERE entity_id IS NOT NULL;

-- Columns never copied into the log: secrets (tokens, key hashes), and bookkeeping that
-- changes on its own. It runs with its owner's rights, so the API's role can have its own
-- tables audited without being allowed to write the log itself.
CREATE FUNCTION cita_audit() RETURNS trigger
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

DO $$
DECLARE
    audited text;
BEGIN
    FOREACH audited IN ARRAY ARRAY['organizations', 'locations', 'business_hours',
        'service_types', 'staff', 'staff_services', 'staff_working_hours', 'customers',
        'availability_exceptions', 'appointments', 'faq_entries']
    LOOP
        EXECUTE format(
            'CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON %I '
            'FOR EACH ROW EXECUTE FUNCTION cita_audit()', audited);
    END LOOP;
END
$$;

-- The new tables under row-level security, like every tenant table.
ALTER TABLE faq_entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON faq_entries USING (organization_id = cita_tenant())
    WITH CHECK (organization_id = cita_tenant());
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON audit_log USING (organization_id = cita_tenant())
    WITH CHECK (organization_id = cita_tenant());
GRANT SELECT ON faq_entries, audit_log TO cita_api;
-- The live event stream resumes from the outbox (`Last-Event-ID` is an outbox seq).
GRANT SELECT ON outbox TO cita_api;

-- Calendar feeds ---------------------------------------------------------------------------

-- A secret-URL iCalendar feed of the business's appointments (no staff_id) or of one staff
-- member's. Only the SHA-256 of the URL's token is kept: the token is 32 random bytes, so
-- no key is needed to make guessing hopeless, and rotating the API's keys breaks no feed.
-- Making a new one for the same scope revokes the old (one live feed per scope).
CREATE TABLE calendar_feeds (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    staff_id        uuid,
    token_hash      bytea NOT NULL UNIQUE,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    FOREIGN KEY (organization_id, staff_id) REFERENCES staff (organization_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX calendar_feeds_live ON calendar_feeds
    (organization_id, coalesce(staff_id, '00000000-0000-0000-0000-000000000000'))
    WHERE revoked_at IS NULL;
ALTER TABLE calendar_feeds ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON calendar_feeds USING (organization_id = cita_tenant())
    WITH CHECK (organization_id = cita_tenant());
GRANT SELECT, INSERT, UPDATE ON calendar_feeds TO cita_api;

-- Whose feed a token opens: asked before the organization is known, so it runs with its
-- owner's rights and returns only that.
CREATE FUNCTION calendar_feed(hash bytea)
    RETURNS TABLE (organization_id uuid, staff_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
        SELECT f.organization_id, f.staff_id
        FROM calendar_feeds f JOIN organizations o ON o.id = f.organization_id
        WHERE f.token_hash = hash AND f.revoked_at IS NULL AND o.status <> 'suspended'
    $$;
REVOKE ALL ON FUNCTION calendar_feed(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION calendar_feed(bytea) TO cita_api;
