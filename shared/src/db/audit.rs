//! Who is acting in the current transaction, for the audit triggers of migration 0009:
//! every row the transaction then changes is logged with them.

use crate::contracts::scheduling::{Actor, Who};

use super::Cached;

/// Names `actor` and the command (`action`) for the rest of the transaction on `tx`.
pub async fn act_as(
    tx: &impl Cached,
    actor: &Actor,
    action: &str,
) -> Result<(), tokio_postgres::Error> {
    let (kind, id) = match actor.who {
        Who::Staff { staff_id } => ("staff", staff_id),
        Who::Customer { customer_id } => ("customer", customer_id),
    };
    let who = serde_json::json!({
        "actor_kind": kind,
        "actor_id": id,
        "channel": actor.channel.as_str(),
        "action": action,
        "api_key_id": actor.api_key_id,
    })
    .to_string();
    tx.run("SELECT set_config('cita.audit', $1, true)", &[&who])
        .await?;
    Ok(())
}
