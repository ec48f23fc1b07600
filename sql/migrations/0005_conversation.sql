-- Conversation: who wrote (names learned over time), which inbound messages still wait
-- for an answer, one turn at a time per conversation across replicas, statuses that
-- arrive before their message, rejected webhook payloads kept for replay, and what the
-- AI costs each organization.

ALTER TABLE organizations
    -- How long the assistant stays silent after a handoff or an owner's reply.
    ADD COLUMN handoff_minutes integer NOT NULL DEFAULT 720 CHECK (handoff_minutes > 0),
    -- The AI's daily spend limit in millionths of a US dollar; NULL: the fleet default.
    ADD COLUMN ai_daily_budget_micro_usd bigint CHECK (ai_daily_budget_micro_usd >= 0);

ALTER TABLE customers
    -- Meta's business-scoped user id, when it sends one.
    ADD COLUMN wa_user_id text,
    -- The name came from the customer (not their WhatsApp profile): profiles no longer
    -- overwrite it.
    ADD COLUMN name_confirmed boolean NOT NULL DEFAULT false;

ALTER TABLE conversations
    ADD COLUMN handoff_reason text,
    -- The turn in progress: the worker running it, and until when its claim holds. A
    -- crashed worker's claim simply runs out.
    ADD COLUMN turn_holder uuid,
    ADD COLUMN turn_lease_until timestamptz,
    -- Since when the AI has failed to answer this conversation (NULL: it has not), and
    -- whether the one apology for that outage went out.
    ADD COLUMN ai_failing_since timestamptz,
    ADD COLUMN apology_sent_at timestamptz,
    -- When the failed turn's delayed retry is due (the sweeper leaves it alone until then).
    ADD COLUMN turn_retry_at timestamptz,
    -- The last "too many messages" answer, so a flood is answered once.
    ADD COLUMN flood_notice_at timestamptz;

ALTER TABLE messages
    -- When WhatsApp says the person sent it (Meta may deliver late and out of order).
    ADD COLUMN sent_by_person_at timestamptz,
    -- An option the person tapped, a place they shared, … (what body does not hold).
    ADD COLUMN content jsonb,
    -- Inbound messages: NULL while no turn has answered them; then how they were
    -- handled (ai, handed_off, not_answerable, flood, budget, …).
    ADD COLUMN answered_at timestamptz,
    ADD COLUMN handled_as text,
    ADD CHECK ((answered_at IS NULL) = (handled_as IS NULL));

CREATE INDEX messages_unanswered ON messages (conversation_id, sent_by_person_at)
    WHERE direction = 'inbound' AND answered_at IS NULL;

-- A status webhook for a message whose WhatsApp id is not known yet (it can overtake the
-- response to the send call). Applied, then deleted, when the id appears on a message.
CREATE TABLE early_statuses (
    wa_message_id text NOT NULL,
    status        text NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    error_code    integer,
    error_title   text,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (wa_message_id, status)
);
CREATE INDEX early_statuses_received ON early_statuses (received_at);

-- The status writer (conversation intake) and the id writer (outbound) serialize on the
-- WhatsApp id, so a status can't slip between "no such message yet" and "parked".
CREATE FUNCTION messages_apply_early_statuses() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.wa_message_id IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(NEW.wa_message_id, 0));
    WITH taken AS (
        DELETE FROM early_statuses WHERE wa_message_id = NEW.wa_message_id
        RETURNING status, error_code, error_title
    ), best AS (
        SELECT * FROM taken ORDER BY message_status_rank(status) DESC LIMIT 1
    )
    UPDATE messages
       SET status = best.status,
           error_code = COALESCE(best.error_code, messages.error_code),
           error_title = COALESCE(best.error_title, messages.error_title)
      FROM best
     WHERE messages.id = NEW.id;
    RETURN NULL;
END
$$;

-- Only the business's own messages get statuses; inbound inserts skip the trigger.
CREATE TRIGGER messages_apply_early_statuses
    AFTER INSERT OR UPDATE OF wa_message_id ON messages
    FOR EACH ROW WHEN (NEW.direction = 'outbound' AND NEW.wa_message_id IS NOT NULL)
    EXECUTE FUNCTION messages_apply_early_statuses();

-- Webhook payloads, or items of them, that were not acted on: unparseable, malformed,
-- for an unknown or suspended number. Kept (CITA_REJECTED_RETENTION_HOURS) for replay.
CREATE TABLE rejected_webhooks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    received_at     timestamptz NOT NULL DEFAULT now(),
    request_id      text,
    phone_number_id text,
    reason          text NOT NULL,
    body            bytea NOT NULL
);
CREATE INDEX rejected_webhooks_received ON rejected_webhooks (received_at);

-- Every call to the model: tokens and estimated cost, per organization.
CREATE TABLE ai_usage (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id    uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    conversation_id    uuid,
    model              text NOT NULL,
    request_id         text,
    input_tokens       integer NOT NULL,
    output_tokens      integer NOT NULL,
    cache_read_tokens  integer NOT NULL,
    cache_write_tokens integer NOT NULL,
    cost_micro_usd     bigint NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ai_usage_organization ON ai_usage (organization_id, created_at);

-- The running total of ai_usage per organization and local day, so the budget check is
-- one row, however busy the day.
CREATE TABLE ai_spend (
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    day             date NOT NULL,
    cost_micro_usd  bigint NOT NULL,
    PRIMARY KEY (organization_id, day)
);
