//! Who answers a turn: guided when there is no model or the organization chose it;
//! with the fallback also while a guided flow is under way (a conversation returns to
//! the AI at rest, never mid-booking), while the model is cooling down after an outage,
//! and when the day's AI budget is spent.

use jiff::Timestamp;

use super::{TurnError, Turns, budget, state::State};
use crate::{
    answer::Pending,
    context::{AssistantMode, Business, Person},
    guided::{self, Entry},
    model::Model,
};

pub enum Route<'a> {
    Ai(&'a Model),
    Guided(Entry),
}

pub async fn decide<'a>(
    turns: &'a Turns,
    client: &deadpool_postgres::Client,
    business: &Business,
    person: &Person,
    state: &State,
    waiting: &[Pending],
    now: Timestamp,
) -> Result<Route<'a>, TurnError> {
    // A hold's notice buttons decide it directly, whatever answers the rest.
    if guided::decides_hold(&waiting[0], person.persona) {
        return Ok(Route::Guided(Entry::Chosen));
    }
    let Some(model) = turns.model.as_ref() else {
        return Ok(Route::Guided(Entry::Chosen));
    };
    match business.assistant_mode {
        AssistantMode::Guided => return Ok(Route::Guided(Entry::Chosen)),
        AssistantMode::Ai => return Ok(Route::Ai(model)),
        AssistantMode::AiWithGuidedFallback => {}
    }
    if cooling_down(turns, now) {
        return Ok(Route::Guided(Entry::Outage));
    }
    // At rest, a tap or a typed option number or title still belongs to the flow.
    if let Some(flow) = &state.guided
        && (!flow.step.at_rest() || guided::picks(&waiting[0], flow, person.persona))
    {
        return Ok(Route::Guided(Entry::Chosen));
    }
    if budget::spent(turns, client, business, now).await? {
        // Counted apart from `guided`, so an exhausted budget shows whatever the mode.
        turns.metrics.turn("budget_guided");
        return Ok(Route::Guided(Entry::Budget));
    }
    Ok(Route::Ai(model))
}

/// Starts the cooldown: for a while, conversations with the fallback skip the model.
pub fn cool_down(turns: &Turns, now: Timestamp) {
    let until = now + turns.settings.ai_cooldown;
    *turns.cooldown.lock().expect("cooldown lock") = Some(until);
}

fn cooling_down(turns: &Turns, now: Timestamp) -> bool {
    let mut until = turns.cooldown.lock().expect("cooldown lock");
    match *until {
        Some(at) if at > now => true,
        Some(_) => {
            *until = None;
            false
        }
        None => false,
    }
}
