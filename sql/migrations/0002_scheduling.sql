-- Scheduling: per-organization booking rules, buffers in the no-overlap constraint,
-- idempotent commands and the monthly quota notice.

ALTER TABLE organizations
    ADD COLUMN slot_step_minutes  integer NOT NULL DEFAULT 15 CHECK (slot_step_minutes BETWEEN 5 AND 240),
    ADD COLUMN min_notice_minutes integer NOT NULL DEFAULT 60 CHECK (min_notice_minutes >= 0),
    ADD COLUMN horizon_days       integer NOT NULL DEFAULT 60 CHECK (horizon_days BETWEEN 1 AND 366);

-- An appointment occupies its staff member until its end plus the service's buffer
-- (cleaning, preparation). occupied_until is kept by a trigger because the exclusion
-- constraint can only use immutable expressions, and timestamptz + interval is not.
ALTER TABLE appointments
    ADD COLUMN buffer_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_minutes >= 0),
    ADD COLUMN occupied_until timestamptz;

CREATE FUNCTION appointments_set_occupied_until() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.occupied_until := NEW.ends_at + make_interval(mins => NEW.buffer_minutes);
    RETURN NEW;
END
$$;

CREATE TRIGGER appointments_occupied_until
    BEFORE INSERT OR UPDATE OF ends_at, buffer_minutes ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointments_set_occupied_until();

UPDATE appointments SET occupied_until = ends_at + make_interval(mins => buffer_minutes);
ALTER TABLE appointments ALTER COLUMN occupied_until SET NOT NULL;

ALTER TABLE appointments DROP CONSTRAINT appointments_no_overlap;
ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
    staff_id WITH =,
    tstzrange(starts_at, occupied_until, '[)') WITH &&
) WHERE (status IN ('pending', 'confirmed'));

-- The result of every writing command, by its idempotency key: the same key again
-- returns this result and writes nothing.
CREATE TABLE command_results (
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    idempotency_key text NOT NULL CHECK (idempotency_key <> ''),
    command         text NOT NULL,
    result          jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, idempotency_key)
);

-- One row per organization and month whose free-plan quota ran out: the owner is told once.
CREATE TABLE quota_notices (
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    month           date NOT NULL,
    PRIMARY KEY (organization_id, month)
);
