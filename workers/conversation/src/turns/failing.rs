//! When the model fails a turn: remember since when, and once the oldest waiting
//! message is older than the apology time, apologize once and tell the owners.

use cita_shared::{
    amqp::topology::{TURN_RETRY_TIERS, tier_of},
    db::Cached,
};
use std::time::Duration;

use jiff::Timestamp;
use uuid::Uuid;

use super::{TurnError, ai::Answering};
use crate::context::Persona;

impl Answering<'_> {
    pub(super) async fn failing(&self) -> Result<(), TurnError> {
        let turns = self.turns;
        let conversation_id = self.turn.conversation_id;
        let client = turns.toolbox.pool.get().await?;
        let retry_in = tier_of(TURN_RETRY_TIERS, self.turn.attempt + 1).delay_ms;
        let row = client
            .row(
                "UPDATE conversations
                 SET ai_failing_since = COALESCE(ai_failing_since, now()),
                     turn_retry_at = now() + make_interval(secs => $2::float8 / 1000)
                 WHERE id = $1
                 RETURNING ai_failing_since,
                           apology_sent_at IS NOT NULL AND apology_sent_at >= ai_failing_since,
                           (SELECT extract(epoch FROM now() - min(created_at))::float8 FROM messages
                            WHERE conversation_id = $1 AND direction = 'inbound' AND answered_at IS NULL)",
                &[&conversation_id, &f64::from(retry_in)],
            )
            .await?;
        let since: Timestamp = row.get(0);
        let apologized: bool = row.get(1);
        // How long a person has really waited: the database's clock stamped the
        // message, so the database's clock measures the wait, not the business clock.
        let waited = Duration::from_secs_f64(row.get::<_, Option<f64>>(2).unwrap_or(0.0).max(0.0));
        let due = waited >= turns.settings.apology_after;
        if apologized || !due {
            return Ok(());
        }
        let key = format!("apology:{conversation_id}:{since}");
        self.sender
            .text(
                &key,
                &self.person.wa_id,
                conversation_id,
                self.business.words().apology(),
            )
            .await?;
        if self.person.persona == Persona::Customer {
            let who = self
                .person
                .name
                .clone()
                .unwrap_or_else(|| self.person.wa_id.clone());
            let minutes = (waited.as_secs_f64() / 60.0).round() as u64;
            let owners = client
                .rows(
                    "SELECT id, phone FROM staff
                     WHERE organization_id = $1 AND active AND role = 'owner' AND phone IS NOT NULL",
                    &[&self.business.id],
                )
                .await?;
            for owner in owners {
                let id: Uuid = owner.get(0);
                let phone: String = owner.get(1);
                self.sender
                    .staff_notice(
                        &format!("{key}:owner:{id}"),
                        &phone,
                        self.business.words().owner_notice_model_down(&who, minutes),
                        &self.business.locale,
                    )
                    .await?;
            }
        }
        client
            .run(
                "UPDATE conversations SET apology_sent_at = now() WHERE id = $1",
                &[&conversation_id],
            )
            .await?;
        turns.metrics.turn("apologized");
        Ok(())
    }
}
