//! The organization's AI spend for its local day, and the notice when it is spent.

use cita_shared::db::Cached;
use jiff::Timestamp;

use super::{TurnError, Turns, flood::At};
use crate::context::Business;

pub async fn spent(
    turns: &Turns,
    client: &deadpool_postgres::Client,
    business: &Business,
    now: Timestamp,
) -> Result<bool, TurnError> {
    let budget = business
        .daily_budget_micro_usd
        .unwrap_or(turns.settings.daily_budget_micro_usd);
    let today = now.to_zoned(business.time_zone.clone()).date();
    let spent: i64 = client
        .maybe_row(
            "SELECT cost_micro_usd FROM ai_spend WHERE organization_id = $1 AND day = $2",
            &[&business.id, &today],
        )
        .await?
        .map_or(0, |row| row.get(0));
    Ok(spent >= budget)
}

/// Tells the person once per local day that the assistant stopped for today.
pub async fn notice(at: &At<'_>, business: &Business) -> Result<(), TurnError> {
    let today = at
        .now
        .to_zoned(business.time_zone.clone())
        .date()
        .to_string();
    let first = at
        .client
        .run(
            "UPDATE conversations SET ai_context = jsonb_set(ai_context, '{budget_notice_on}', to_jsonb($2::text))
             WHERE id = $1 AND ai_context->>'budget_notice_on' IS DISTINCT FROM $2",
            &[&at.conversation_id, &today],
        )
        .await?;
    if first == 1 {
        at.sender
            .text(
                &format!("budget:{}:{today}", at.conversation_id),
                &at.person.wa_id,
                at.conversation_id,
                at.words.budget(),
            )
            .await?;
    }
    Ok(())
}
