//! Storing an organization's access token (sealed) and resuming its parked sends.

use cita_shared::{
    amqp::{
        Publisher, Topology,
        topology::{CITA_COMMANDS, OUTBOUND_SEND},
    },
    crypto::Keyring,
    error::Infra,
    secret::Secret,
};
use deadpool_postgres::Pool;
use lapin::BasicProperties;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Infra(#[from] Infra),
    #[error("no organization with id or slug {0:?}")]
    UnknownOrganization(String),
    #[error("the token is empty")]
    EmptyToken,
}

cita_shared::infra_errors!(TokenError);

/// Seals `token` for the organization named by id or slug, stores it with its phone
/// number id (when given), and lifts a pause caused by a refused token. Returns the
/// organization's id.
pub async fn store(
    pool: &Pool,
    keyring: &Keyring,
    organization: &str,
    phone_number_id: Option<&str>,
    token: &Secret,
) -> Result<Uuid, TokenError> {
    let token = token.expose().trim();
    if token.is_empty() {
        return Err(TokenError::EmptyToken);
    }
    let client = pool.get().await?;
    let id: Uuid = client
        .query_opt(
            "SELECT id FROM organizations WHERE id::text = $1 OR slug = $1",
            &[&organization],
        )
        .await?
        .ok_or_else(|| TokenError::UnknownOrganization(organization.into()))?
        .get(0);
    let sealed = keyring.seal(token.as_bytes(), id.as_bytes());
    client
        .execute(
            "UPDATE organizations SET access_token_ciphertext = $2, access_token_key_id = $3,
                    phone_number_id = COALESCE($4, phone_number_id),
                    messaging_paused_at = NULL, messaging_paused_reason = NULL, updated_at = now()
             WHERE id = $1",
            &[&id, &sealed.ciphertext, &sealed.key_id, &phone_number_id],
        )
        .await?;
    Ok(id)
}

/// Puts the organization's parked sends back on `outbound.send`, oldest first. Returns
/// how many. A row goes back to pending only after the broker confirmed its command, so
/// a failure half-way leaves the rest parked for the next run.
pub async fn resume(
    pool: &Pool,
    publisher: &Publisher,
    topology: &Topology,
    organization_id: Uuid,
) -> Result<usize, TokenError> {
    let client = pool.get().await?;
    let parked = client
        .query(
            "SELECT id, command::text FROM messages
             WHERE organization_id = $1 AND status = 'paused' AND command IS NOT NULL
             ORDER BY created_at",
            &[&organization_id],
        )
        .await?;
    let exchange = topology.name(CITA_COMMANDS);
    for row in &parked {
        let (id, command): (Uuid, String) = (row.get(0), row.get(1));
        let properties = BasicProperties::default().with_content_type("application/json".into());
        publisher
            .publish(&exchange, OUTBOUND_SEND, command.as_bytes(), properties)
            .await?;
        client
            .execute(
                "UPDATE messages SET status = 'pending' WHERE id = $1 AND status = 'paused'",
                &[&id],
            )
            .await?;
    }
    Ok(parked.len())
}

/// Re-seals every stored token that is not sealed with the current key (the first of
/// `CITA_SECRETS_KEY`), so that the old key can then be removed. Returns how many.
pub async fn reseal(pool: &Pool, keyring: &Keyring) -> Result<usize, ResealError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT id, access_token_key_id, access_token_ciphertext FROM organizations
             WHERE access_token_key_id IS NOT NULL AND access_token_key_id <> $1",
            &[&keyring.current_key_id()],
        )
        .await?;
    for row in &rows {
        let (id, key_id, ciphertext): (Uuid, String, Vec<u8>) =
            (row.get(0), row.get(1), row.get(2));
        let token = keyring
            .open(&key_id, &ciphertext, id.as_bytes())
            .map_err(|error| ResealError::Open(id, error))?;
        let sealed = keyring.seal(&token, id.as_bytes());
        // Only if nobody stored a new token meanwhile.
        client
            .execute(
                "UPDATE organizations SET access_token_ciphertext = $2, access_token_key_id = $3
                 WHERE id = $1 AND access_token_key_id = $4 AND access_token_ciphertext = $5",
                &[
                    &id,
                    &sealed.ciphertext,
                    &sealed.key_id,
                    &key_id,
                    &ciphertext,
                ],
            )
            .await?;
    }
    Ok(rows.len())
}

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error(transparent)]
    Infra(#[from] Infra),
    #[error("the token of organization {0} does not open: {1}")]
    Open(Uuid, cita_shared::crypto::CryptoError),
}

cita_shared::infra_errors!(ResealError);
