-- Someone added to the team is welcomed by WhatsApp (`organization.staff_added`).
ALTER TABLE notifications
    DROP CONSTRAINT notifications_kind_check,
    ADD CONSTRAINT notifications_kind_check
        CHECK (kind IN ('reminder', 'agenda', 'review_request', 'booked', 'cancelled',
                        'rescheduled', 'quota_exceeded', 'handed_off', 'staff_welcome'));
