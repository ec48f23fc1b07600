-- Holds: a customer's booking that waits for the owner is a `pending` appointment with
-- an expiry. It takes its time under appointments_no_overlap from the first second, like
-- a confirmed one, and the reminders clock frees it once `hold_expires_at` passes.
ALTER TABLE organizations
    ADD COLUMN approval_required boolean NOT NULL DEFAULT false,
    ADD COLUMN hold_minutes integer NOT NULL DEFAULT 120
        CHECK (hold_minutes BETWEEN 5 AND 10080);

-- NULL: as the organization says.
ALTER TABLE service_types ADD COLUMN approval_required boolean;

ALTER TABLE appointments
    ADD COLUMN hold_expires_at timestamptz,
    ADD COLUMN hold_outcome text CHECK (hold_outcome IN ('approved', 'rejected', 'expired')),
    ADD CONSTRAINT appointments_hold_expires CHECK (status <> 'pending' OR hold_expires_at IS NOT NULL);

CREATE INDEX appointments_holds_due ON appointments (hold_expires_at) WHERE status = 'pending';

-- The owner is asked to decide; the customer hears how it ended.
ALTER TABLE notifications
    DROP CONSTRAINT notifications_kind_check,
    ADD CONSTRAINT notifications_kind_check
        CHECK (kind IN ('reminder', 'agenda', 'review_request', 'booked', 'cancelled',
                        'rescheduled', 'quota_exceeded', 'handed_off', 'staff_welcome',
                        'hold_request', 'hold_rejected', 'hold_expired'));
