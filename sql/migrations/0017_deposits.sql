-- Deposits: a customer's booking of a service that asks for one is a hold (0015) with a
-- deposit row; paid (re-fetched from the provider), the hold becomes an appointment.
-- Money is integer minor units with its currency, everywhere.

-- The policy: none, a fixed amount, or a percentage of the price. NULL on a service
-- follows the organization.
ALTER TABLE organizations
    ADD COLUMN deposit_kind text NOT NULL DEFAULT 'none'
        CHECK (deposit_kind IN ('none', 'fixed', 'percent')),
    ADD COLUMN deposit_value bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT organizations_deposit CHECK (
        (deposit_kind = 'none' AND deposit_value = 0)
        OR (deposit_kind = 'fixed' AND deposit_value > 0)
        OR (deposit_kind = 'percent' AND deposit_value BETWEEN 1 AND 100));

ALTER TABLE service_types
    ADD COLUMN deposit_kind text CHECK (deposit_kind IN ('none', 'fixed', 'percent')),
    ADD COLUMN deposit_value bigint,
    ADD CONSTRAINT service_types_deposit CHECK (
        (deposit_kind IS NULL AND deposit_value IS NULL)
        OR (deposit_kind = 'none' AND deposit_value = 0)
        OR (deposit_kind = 'fixed' AND deposit_value > 0)
        OR (deposit_kind = 'percent' AND deposit_value BETWEEN 1 AND 100));

-- The business's own Mercado Pago account (an OAuth-connected seller of the platform's
-- application): its user id, which notifications name, and its sealed access token.
CREATE TABLE payment_accounts (
    organization_id   uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    provider          text NOT NULL DEFAULT 'mercadopago' CHECK (provider = 'mercadopago'),
    provider_user_id  text NOT NULL,
    token_ciphertext  bytea NOT NULL,
    token_key_id      text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_user_id)
);
ALTER TABLE payment_accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON payment_accounts USING (organization_id = (SELECT cita_tenant()));

CREATE TABLE deposits (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id   uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    appointment_id    uuid NOT NULL UNIQUE REFERENCES appointments (id) ON DELETE CASCADE,
    amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
    currency          char(3) NOT NULL,
    status            text NOT NULL DEFAULT 'awaiting'
        CHECK (status IN ('awaiting', 'paid', 'refund_due', 'refunded', 'forfeited')),
    -- The payment link (a Checkout Pro preference), once made.
    preference_id     text,
    link              text,
    -- The provider's payment that paid it, and when Cita believed it.
    payment_id        text UNIQUE,
    paid_at           timestamptz,
    refund_id         text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deposits_organization ON deposits (organization_id, created_at);
ALTER TABLE deposits ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON deposits USING (organization_id = (SELECT cita_tenant()));
GRANT SELECT ON deposits TO cita_api;

-- The customer gets the link; owners (and, when money goes back, the customer) hear of a
-- payment that did not confirm.
ALTER TABLE notifications
    DROP CONSTRAINT notifications_kind_check,
    ADD CONSTRAINT notifications_kind_check
        CHECK (kind IN ('reminder', 'agenda', 'review_request', 'booked', 'cancelled',
                        'rescheduled', 'quota_exceeded', 'handed_off', 'staff_welcome',
                        'hold_request', 'hold_rejected', 'hold_expired',
                        'deposit_request', 'deposit_issue'));
