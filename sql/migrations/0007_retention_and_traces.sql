-- How long what the fleet keeps is kept. Bookkeeping (published outbox rows, handled
-- events, command results, rejected webhooks, early statuses, finished notifications)
-- is pruned after ages set by CITA_*_RETENTION_HOURS; messages and AI usage after each
-- organization's own retention, 400 days by default.

ALTER TABLE organizations
    ADD COLUMN retention_days integer NOT NULL DEFAULT 400 CHECK (retention_days >= 30);

-- The pruning scans: each finds its oldest rows through an index, in small batches.
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX handled_events_handled ON handled_events (handled_at);
CREATE INDEX command_results_created ON command_results (created_at);
CREATE INDEX notifications_finished ON notifications (created_at) WHERE status <> 'pending';
CREATE INDEX messages_organization_created ON messages (organization_id, created_at);

-- The trace (W3C traceparent) of the work that wrote the row, carried on by what
-- publishes it later: an event's relay, a notification's dispatch.
ALTER TABLE outbox ADD COLUMN traceparent text;
ALTER TABLE notifications ADD COLUMN traceparent text;
