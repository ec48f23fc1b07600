//! The consumer of `conversation.turns`: a turn command runs the conversation's turn;
//! a turn the model could not answer comes back through a delay queue with its attempt
//! counted; a turn the API refused as invalid, or a command that can't be read, is
//! dead-lettered.

use cita_shared::{
    amqp::{
        Handler, Settlement,
        topology::{TURN_RETRY_TIERS, tier_of},
    },
    contracts::conversation::{Turn, TurnCommand},
};
use lapin::{Channel, message::Delivery};

use super::{Outcome, TurnError, Turns};

impl Handler for Turns {
    type Error = TurnError;
    type Admission = ();

    fn admit(&self, _: &Delivery) {}

    async fn attempt(
        &self,
        delivery: &Delivery,
        (): &(),
        _: &Channel,
    ) -> Result<Settlement, TurnError> {
        let turn = match serde_json::from_slice::<TurnCommand>(&delivery.data) {
            Ok(TurnCommand::TurnV1(turn)) => turn,
            Err(error) => {
                return Ok(Settlement::DeadLetter(format!(
                    "malformed turn command: {error}"
                )));
            }
        };
        Ok(match self.run(&turn).await? {
            Outcome::Done | Outcome::Busy => Settlement::Ack,
            Outcome::RetryLater => {
                let next = Turn {
                    attempt: turn.attempt + 1,
                    ..turn
                };
                Settlement::Later {
                    tier: tier_of(TURN_RETRY_TIERS, next.attempt),
                    body: Some(
                        serde_json::to_vec(&TurnCommand::TurnV1(next))
                            .expect("a turn command serializes to JSON"),
                    ),
                    headers: Vec::new(),
                }
            }
            Outcome::Rejected(reason) => Settlement::DeadLetter(reason),
        })
    }
}
