-- Guided mode: booking by taps on WhatsApp's buttons and lists, without the AI.

-- ai: always the model (when it fails, turns are retried later, as before);
-- guided: never the model; ai_with_guided_fallback: the model, and guided mode while it
-- is unavailable or the day's AI budget is spent.
ALTER TABLE organizations
    ADD COLUMN assistant_mode text NOT NULL DEFAULT 'ai_with_guided_fallback'
        CHECK (assistant_mode IN ('ai', 'guided', 'ai_with_guided_fallback'));

-- The guided flow of a conversation: its step, the options last shown, and whether it
-- is a fallback from the AI. NULL when the conversation is not in a guided flow.
ALTER TABLE conversations ADD COLUMN guided jsonb;
