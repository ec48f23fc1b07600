-- People of the business in customers' conversations (taking one over, giving it back,
-- replying) act through scheduling, which names them for the audit log. A conversation's
-- assistant context is not copied into the log: it is the customer's words, kept only
-- as long as the conversation's own retention allows.

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
                   - 'updated_at' - 'key_hash' - 'ai_context';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW) - 'access_token_ciphertext' - 'access_token_key_id'
                   - 'updated_at' - 'key_hash' - 'ai_context';
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

-- Only who handles the conversation; the assistant's own bookkeeping is never named.
CREATE TRIGGER audit AFTER UPDATE OF status, handed_off_until, handoff_reason ON conversations
    FOR EACH ROW EXECUTE FUNCTION cita_audit();

-- The inbox lists handed-off conversations first, then the latest.
CREATE INDEX conversations_inbox ON conversations (organization_id, updated_at DESC)
    WHERE customer_id IS NOT NULL;
