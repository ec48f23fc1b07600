-- A service may close changes earlier (or later) than the business: a colour treatment
-- booked for three hours can't be cancelled the same morning, a quick cut can.
-- NULL: as the organization says; 0: customers may change it until it starts.
ALTER TABLE service_types ADD COLUMN change_cutoff_minutes integer
    CHECK (change_cutoff_minutes BETWEEN 0 AND 10080);
