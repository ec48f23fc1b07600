//! The business's own Mercado Pago account: its seller id, which notifications name, and
//! its access token, sealed at rest like the WhatsApp token (for a different owner, so
//! that one cannot be opened as the other).

use cita_shared::{crypto::Keyring, db::Cached, secret::Secret};
use deadpool_postgres::Pool;
use uuid::Uuid;

use crate::error::Error;

pub struct Account {
    pub organization_id: Uuid,
    pub token: Secret,
}

fn owner(organization_id: Uuid) -> Vec<u8> {
    format!("mercadopago:{organization_id}").into_bytes()
}

/// The organization named by id or slug.
pub async fn organization(pool: &Pool, id_or_slug: &str) -> Result<Option<Uuid>, Error> {
    Ok(pool
        .get()
        .await?
        .maybe_row(
            "SELECT id FROM organizations WHERE id::text = $1 OR slug = $1",
            &[&id_or_slug],
        )
        .await?
        .map(|row| row.get(0)))
}

/// Connects (or reconnects) `organization_id` to the seller account `seller`.
pub async fn store(
    pool: &Pool,
    keyring: &Keyring,
    organization_id: Uuid,
    seller: &str,
    token: &Secret,
) -> Result<(), Error> {
    let sealed = keyring.seal(token.expose().trim().as_bytes(), &owner(organization_id));
    pool.get()
        .await?
        .run(
            "INSERT INTO payment_accounts (organization_id, provider_user_id, token_ciphertext, token_key_id)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (organization_id) DO UPDATE
                 SET provider_user_id = EXCLUDED.provider_user_id,
                     token_ciphertext = EXCLUDED.token_ciphertext,
                     token_key_id = EXCLUDED.token_key_id, updated_at = now()",
            &[&organization_id, &seller, &sealed.ciphertext, &sealed.key_id],
        )
        .await?;
    Ok(())
}

/// The account of the seller a notification names, with its token opened. A token that
/// no configured key opens is logged and treated as no account.
pub async fn by_seller(
    pool: &Pool,
    keyring: &Keyring,
    seller: &str,
) -> Result<Option<Account>, Error> {
    let row = pool
        .get()
        .await?
        .maybe_row(
            "SELECT organization_id, token_ciphertext, token_key_id FROM payment_accounts
             WHERE provider = 'mercadopago' AND provider_user_id = $1",
            &[&seller],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let organization_id: Uuid = row.get(0);
    let ciphertext: Vec<u8> = row.get(1);
    let key_id: String = row.get(2);
    match keyring.open(&key_id, &ciphertext, &owner(organization_id)) {
        Ok(token) => Ok(Some(Account {
            organization_id,
            token: Secret::new(String::from_utf8_lossy(&token).into_owned()),
        })),
        Err(error) => {
            tracing::error!(%organization_id, %error, "the Mercado Pago token does not open");
            Ok(None)
        }
    }
}

/// The account of `organization_id`, with its token opened.
pub async fn of_organization(
    pool: &Pool,
    keyring: &Keyring,
    organization_id: Uuid,
) -> Result<Option<Account>, Error> {
    let row = pool
        .get()
        .await?
        .maybe_row(
            "SELECT provider_user_id FROM payment_accounts WHERE organization_id = $1",
            &[&organization_id],
        )
        .await?;
    match row {
        Some(row) => by_seller(pool, keyring, row.get(0)).await,
        None => Ok(None),
    }
}

/// The deposit `payment_id` paid, if its money is still owed back.
pub async fn refund_due(
    pool: &Pool,
    deposit_id: Uuid,
    payment_id: &str,
) -> Result<Option<Uuid>, Error> {
    Ok(pool
        .get()
        .await?
        .maybe_row(
            "SELECT id FROM deposits WHERE id = $1 AND payment_id = $2 AND status = 'refund_due'",
            &[&deposit_id, &payment_id],
        )
        .await?
        .map(|row| row.get(0)))
}

pub async fn refunded(pool: &Pool, deposit_id: Uuid, refund_id: &str) -> Result<(), Error> {
    pool.get()
        .await?
        .run(
            "UPDATE deposits SET status = 'refunded', refund_id = $2, updated_at = now()
             WHERE id = $1 AND status = 'refund_due'",
            &[&deposit_id, &refund_id],
        )
        .await?;
    Ok(())
}
