//! Who a customer is: the one place customers are found and created, under one matching
//! rule — every form of their number ([`phone::variants`]), whether it came as a WhatsApp
//! id or was typed by staff. Scheduling creates the customers that bookings and walk-ins
//! name by phone (in the booking's transaction); conversation intake creates the person
//! who writes for the first time (it must work while scheduling is away).

use uuid::Uuid;

use crate::{db::Cached, whatsapp::phone};

/// The customer of the organization known under any form of `number` (a WhatsApp id or
/// E.164 digits), preferring the one whose WhatsApp id is exactly it.
pub async fn find(
    client: &impl Cached,
    organization_id: Uuid,
    number: &str,
) -> Result<Option<Uuid>, tokio_postgres::Error> {
    let forms = phone::variants(number);
    let row = client
        .maybe_row(
            "SELECT id FROM customers
             WHERE organization_id = $1 AND (wa_id = ANY($2) OR phone = ANY($2))
             ORDER BY wa_id = $3 DESC NULLS LAST LIMIT 1",
            &[&organization_id, &forms, &number],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// The person writing from `wa_id`: found under any form of their number (a walk-in
/// typed in by staff, say), else created. Their WhatsApp ids are recorded, and the
/// profile name is kept until the customer gives theirs. A concurrent first message of
/// the same person loses on the unique (organization, wa_id); tried again, it finds them.
pub async fn for_sender(
    client: &impl Cached,
    organization_id: Uuid,
    wa_id: &str,
    user_id: Option<&str>,
    profile_name: Option<&str>,
) -> Result<Uuid, tokio_postgres::Error> {
    if let Some(id) = find(client, organization_id, wa_id).await? {
        client
            .run(
                // Written only when something changes: most messages change nothing.
                "UPDATE customers
                 SET wa_id = COALESCE(wa_id, $2),
                     wa_user_id = COALESCE($3, wa_user_id),
                     name = CASE WHEN name_confirmed THEN name ELSE COALESCE($4, name) END,
                     updated_at = now()
                 WHERE id = $1
                   AND (wa_id IS NULL
                        OR wa_user_id IS DISTINCT FROM COALESCE($3, wa_user_id)
                        OR (NOT name_confirmed AND name IS DISTINCT FROM COALESCE($4, name)))",
                &[&id, &wa_id, &user_id, &profile_name],
            )
            .await?;
        return Ok(id);
    }
    let row = client
        .row(
            "INSERT INTO customers (organization_id, wa_id, phone, wa_user_id, name)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &organization_id,
                &wa_id,
                &phone::normalize(wa_id),
                &user_id,
                &profile_name,
            ],
        )
        .await?;
    Ok(row.get(0))
}

/// The customer staff name by `number` (E.164 digits): found under any form of it, else
/// created with `name` (which then counts as the name they gave). An existing customer
/// without a name gets it.
pub async fn for_phone(
    client: &impl Cached,
    organization_id: Uuid,
    number: &str,
    name: Option<&str>,
) -> Result<Uuid, tokio_postgres::Error> {
    if let Some(id) = find(client, organization_id, number).await? {
        if name.is_some() {
            client
                .run(
                    "UPDATE customers SET name = $2, name_confirmed = true, updated_at = now()
                     WHERE id = $1 AND name IS NULL",
                    &[&id, &name],
                )
                .await?;
        }
        return Ok(id);
    }
    let number = phone::normalize(number).unwrap_or_else(|| number.to_owned());
    let row = client
        .row(
            "INSERT INTO customers (organization_id, phone, name, name_confirmed)
             VALUES ($1, $2, $3::text, $3::text IS NOT NULL)
             ON CONFLICT (organization_id, phone)
             DO UPDATE SET name = COALESCE(customers.name, EXCLUDED.name)
             RETURNING id",
            &[&organization_id, &number, &name],
        )
        .await?;
    Ok(row.get(0))
}
