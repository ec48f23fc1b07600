-- Reminders and notifications: per-organization policy, the events already handled, and
-- one row per message the clock or an event causes — the row that makes it exactly once.

ALTER TABLE organizations
    -- Reminders before an appointment, in minutes (default: the day before).
    ADD COLUMN reminder_offsets_minutes integer[] NOT NULL DEFAULT '{1440}'
        CHECK (array_position(reminder_offsets_minutes, NULL) IS NULL
               AND 0 < ALL (reminder_offsets_minutes)),
    -- The morning agenda, in the organization's own time zone.
    ADD COLUMN agenda_local_time time NOT NULL DEFAULT '08:00',
    -- A review request this long after an appointment is completed; NULL: none.
    ADD COLUMN review_request_after_minutes integer CHECK (review_request_after_minutes >= 0);

-- Events from cita.events already acted on (consumers deduplicate on event_id).
CREATE TABLE handled_events (
    event_id   uuid PRIMARY KEY,
    handled_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('reminder', 'agenda', 'review_request',
                        'booked', 'cancelled', 'rescheduled', 'quota_exceeded', 'handed_off')),
    -- Unique per organization: e.g. reminder:<appointment>:1440, agenda:<staff>:2026-12-07,
    -- booked:<event>:<recipient>. A second insert of the same key is a no-op.
    dedupe_key      text NOT NULL,
    appointment_id  uuid,
    -- Who receives it: a customer, or a staff member (the owner is a staff member).
    -- Their number is read at send time.
    audience        text NOT NULL CHECK (audience IN ('customer', 'staff')),
    customer_id     uuid,
    staff_id        uuid,
    -- What the message needs that is not read fresh at send time (the event, a reason).
    details         jsonb NOT NULL DEFAULT '{}',
    due_at          timestamptz NOT NULL,
    -- Past this, the message is not worth sending any more (skipped as stale).
    stale_at        timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'skipped', 'cancelled')),
    -- The outbound command id: fixed per row, so a republished row (a crash between
    -- publishing and marking) is stopped by outbound's idempotency.
    command_id      uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    skipped_reason  text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, dedupe_key),
    CHECK ((audience = 'staff') = (staff_id IS NOT NULL)),
    FOREIGN KEY (organization_id, appointment_id)
        REFERENCES appointments (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, staff_id) REFERENCES staff (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, customer_id) REFERENCES customers (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX notifications_due ON notifications (due_at) WHERE status = 'pending';
CREATE INDEX notifications_appointment ON notifications (appointment_id) WHERE status = 'pending';
