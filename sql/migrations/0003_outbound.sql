-- Outbound: every send command becomes one messages row (idempotent on command_id), the
-- forward-only status rule, per-organization throughput and the paused state of an
-- organization whose access token Meta refused.

ALTER TABLE organizations
    -- NULL: the fleet default (CITA_OUTBOUND_NUMBER_RATE), or 20/s for a coexistence
    -- number, which Meta caps there.
    ADD COLUMN messages_per_second     integer CHECK (messages_per_second > 0),
    ADD COLUMN whatsapp_coexistence    boolean NOT NULL DEFAULT false,
    -- Set when Meta refuses the token (error 190): sends wait, parked as 'paused', until
    -- a new token is stored.
    ADD COLUMN messaging_paused_at     timestamptz,
    ADD COLUMN messaging_paused_reason text,
    ADD CHECK ((messaging_paused_at IS NULL) = (messaging_paused_reason IS NULL));

ALTER TABLE messages
    -- A notification to someone who never wrote to the business has no conversation.
    ALTER COLUMN conversation_id DROP NOT NULL,
    ADD COLUMN command_id  uuid UNIQUE,
    ADD COLUMN recipient   text,
    ADD COLUMN purpose     text CHECK (purpose IN ('reply', 'notification', 'reminder')),
    -- Calls to Meta made for this message so far.
    ADD COLUMN attempts    integer NOT NULL DEFAULT 0,
    -- While set and in the future, one worker is sending this message.
    ADD COLUMN lease_until timestamptz,
    -- The command, kept while the message may still be sent (pending, paused).
    ADD COLUMN command     jsonb,
    -- error_title holds why it failed (Meta's title, or Cita's reason such as
    -- outside_window); this, the details.
    ADD COLUMN error_detail text,
    ADD FOREIGN KEY (organization_id) REFERENCES organizations ON DELETE CASCADE;

ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('received', 'pending', 'paused', 'sent', 'delivered', 'read', 'failed'));

CREATE INDEX messages_paused ON messages (organization_id) WHERE status = 'paused';

-- Statuses only move forward (sent → delivered → read) and failed is final, whatever
-- order Meta's status webhooks arrive in: a late 'delivered' after 'read' is ignored.
CREATE FUNCTION message_status_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE status
        WHEN 'received' THEN 0
        WHEN 'pending' THEN 1
        WHEN 'paused' THEN 1
        WHEN 'sent' THEN 2
        WHEN 'delivered' THEN 3
        WHEN 'read' THEN 4
        WHEN 'failed' THEN 5
    END
$$;

CREATE FUNCTION messages_status_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'failed'
       OR message_status_rank(NEW.status) < message_status_rank(OLD.status) THEN
        NEW.status := OLD.status;
        NEW.status_changed_at := OLD.status_changed_at;
    ELSIF NEW.status <> OLD.status THEN
        NEW.status_changed_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER messages_status_forward_only
    BEFORE UPDATE OF status ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_status_forward_only();
