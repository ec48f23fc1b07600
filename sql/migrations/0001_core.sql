-- Core data model of Cita (see PRODUCT.md). Every tenant-owned row carries
-- organization_id, and references between tenant rows go through composite foreign keys
-- (organization_id, id), so a row of one organization can never point at another's.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Tenants -------------------------------------------------------------------------------

CREATE TABLE organizations (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                    text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$'),
    name                    text NOT NULL CHECK (name <> ''),
    timezone                text NOT NULL,                -- IANA zone, e.g. America/Mexico_City
    locale                  text NOT NULL DEFAULT 'es-MX',
    currency                char(3) NOT NULL DEFAULT 'MXN',
    status                  text NOT NULL DEFAULT 'onboarding'
                            CHECK (status IN ('onboarding', 'active', 'suspended')),
    plan                    text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'paid')),
    -- WhatsApp identity from Embedded Signup. The webhook finds the tenant by
    -- phone_number_id, never by anything the sender says.
    waba_id                 text,
    phone_number_id         text UNIQUE,
    display_phone_number    text,
    -- The Meta access token, AES-256-GCM encrypted; the key id says which key sealed it.
    access_token_ciphertext bytea,
    access_token_key_id     text,
    settings                jsonb NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((access_token_ciphertext IS NULL) = (access_token_key_id IS NULL))
);

CREATE TABLE locations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    name            text NOT NULL CHECK (name <> ''),
    address         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id)
);

-- Opening hours: several intervals per weekday allow split shifts (10–14 and 16–20).
-- Weekdays are ISO: 1 = Monday … 7 = Sunday. Times are local to the organization's zone.
CREATE TABLE business_hours (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    location_id     uuid NOT NULL,
    weekday         smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    opens_at        time NOT NULL,
    closes_at       time NOT NULL,
    CHECK (opens_at < closes_at),
    FOREIGN KEY (organization_id, location_id)
        REFERENCES locations (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX business_hours_location ON business_hours (location_id, weekday);

-- People and services ---------------------------------------------------------------------

CREATE TABLE service_types (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    name             text NOT NULL CHECK (name <> ''),
    description      text,
    duration_minutes integer NOT NULL CHECK (duration_minutes > 0),
    buffer_minutes   integer NOT NULL DEFAULT 0 CHECK (buffer_minutes >= 0),
    price_minor      bigint NOT NULL CHECK (price_minor >= 0),   -- centavos
    currency         char(3) NOT NULL,
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, name)
);

-- Phones are E.164 digits without '+', as WhatsApp's wa_id gives them.
CREATE TABLE staff (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    location_id     uuid,
    name            text NOT NULL CHECK (name <> ''),
    phone           text CHECK (phone ~ '^[1-9][0-9]{7,14}$'),
    role            text NOT NULL DEFAULT 'employee' CHECK (role IN ('owner', 'employee')),
    -- What this member may do beyond their own agenda, e.g. 'view_business_schedule'.
    permissions     text[] NOT NULL DEFAULT '{}',
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, phone),
    FOREIGN KEY (organization_id, location_id) REFERENCES locations (organization_id, id)
);

CREATE TABLE staff_services (
    organization_id uuid NOT NULL,
    staff_id        uuid NOT NULL,
    service_type_id uuid NOT NULL,
    PRIMARY KEY (staff_id, service_type_id),
    FOREIGN KEY (organization_id, staff_id) REFERENCES staff (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, service_type_id)
        REFERENCES service_types (organization_id, id) ON DELETE CASCADE
);

-- Weekly recurring working hours of a staff member (local time, ISO weekday).
CREATE TABLE staff_working_hours (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    staff_id        uuid NOT NULL,
    weekday         smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    starts_at       time NOT NULL,
    ends_at         time NOT NULL,
    CHECK (starts_at < ends_at),
    FOREIGN KEY (organization_id, staff_id) REFERENCES staff (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX staff_working_hours_staff ON staff_working_hours (staff_id, weekday);

CREATE TABLE customers (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    -- wa_id is WhatsApp's identity of the customer, kept opaque (it may be a
    -- business-scoped user id rather than a phone). phone is the normalized number when
    -- known. Both are optional: a walk-in may leave neither.
    wa_id           text,
    phone           text CHECK (phone ~ '^[1-9][0-9]{7,14}$'),
    name            text,
    notes           text,
    opted_in_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, wa_id),
    UNIQUE (organization_id, phone)
);

-- Time ---------------------------------------------------------------------------------

-- Dated exceptions to the weekly hours. staff_id NULL means the whole business.
CREATE TABLE availability_exceptions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    staff_id        uuid,
    kind            text NOT NULL CHECK (kind IN ('block', 'time_off', 'closure', 'holiday')),
    during          tstzrange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during)
                                              AND NOT upper_inf(during)),
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, staff_id) REFERENCES staff (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX availability_exceptions_during
    ON availability_exceptions USING gist (organization_id, during);

CREATE TABLE appointments (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id     uuid NOT NULL,
    location_id         uuid,
    customer_id         uuid NOT NULL,
    staff_id            uuid NOT NULL,
    service_type_id     uuid NOT NULL,
    starts_at           timestamptz NOT NULL,
    ends_at             timestamptz NOT NULL,
    status              text NOT NULL DEFAULT 'confirmed'
                        CHECK (status IN ('pending', 'confirmed', 'completed', 'cancelled', 'no_show')),
    source              text NOT NULL CHECK (source IN ('whatsapp', 'web', 'manual', 'walk_in')),
    price_minor         bigint CHECK (price_minor >= 0),
    currency            char(3),
    notes               text,
    cancellation_reason text,
    -- Set by whoever asks for the booking, so a retried request books once.
    idempotency_key     text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, idempotency_key),
    FOREIGN KEY (organization_id, location_id) REFERENCES locations (organization_id, id),
    FOREIGN KEY (organization_id, customer_id) REFERENCES customers (organization_id, id),
    FOREIGN KEY (organization_id, staff_id) REFERENCES staff (organization_id, id),
    FOREIGN KEY (organization_id, service_type_id) REFERENCES service_types (organization_id, id),
    -- No double booking: one staff member can't be in two live appointments at once.
    -- Half-open ranges, so back-to-back appointments (10:00–10:45, 10:45–11:30) are fine.
    CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        staff_id WITH =,
        tstzrange(starts_at, ends_at, '[)') WITH &&
    ) WHERE (status IN ('pending', 'confirmed'))
);
CREATE INDEX appointments_customer ON appointments (customer_id, starts_at);
CREATE INDEX appointments_org_starts ON appointments (organization_id, starts_at);

-- Conversations ---------------------------------------------------------------------------

-- One conversation per organization and counterpart (a customer or a staff member).
CREATE TABLE conversations (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id   uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    wa_id             text NOT NULL,
    customer_id       uuid,
    staff_id          uuid,
    status            text NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'handed_off', 'resolved')),
    handed_off_until  timestamptz,
    ai_context        jsonb NOT NULL DEFAULT '{}',
    -- The 24-hour customer service window is measured from here.
    last_inbound_at   timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((customer_id IS NULL) <> (staff_id IS NULL)),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, wa_id),
    FOREIGN KEY (organization_id, customer_id) REFERENCES customers (organization_id, id),
    FOREIGN KEY (organization_id, staff_id) REFERENCES staff (organization_id, id)
);

CREATE TABLE messages (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id     uuid NOT NULL,
    conversation_id     uuid NOT NULL,
    direction           text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    sender_kind         text NOT NULL CHECK (sender_kind IN ('customer', 'ai', 'staff', 'owner', 'system')),
    content_kind        text NOT NULL,    -- text, image, interactive, template, …
    body                text,
    media_id            text,
    -- Meta's message id (wamid); inbound messages are deduplicated on it. NULL only for
    -- an outbound message that Meta has not accepted yet.
    wa_message_id       text UNIQUE,
    reply_to_wa_message_id text,
    status              text NOT NULL
                        CHECK (status IN ('received', 'pending', 'sent', 'delivered', 'read', 'failed')),
    error_code          integer,
    error_title         text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    status_changed_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, conversation_id)
        REFERENCES conversations (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX messages_conversation ON messages (conversation_id, created_at);

-- Transactional outbox ------------------------------------------------------------------

-- Domain events are written here in the same transaction as the change they describe,
-- then published to cita.events (with confirms) and marked.
CREATE TABLE outbox (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    routing_key     text NOT NULL CHECK (routing_key <> ''),
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
