//! The model's side of the conversation, kept in `conversations.ai_context`: the last
//! turns' messages exactly as exchanged with the API (tool calls and results included,
//! so ids the model saw stay meaningful), for up to 24 hours.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// Turns kept; older ones are dropped whole, so what remains starts with a user's text.
const MAX_TURNS: usize = 8;
/// Serialized size kept at most; large tool results fall out first with their turn.
const MAX_BYTES: usize = 64 * 1024;
/// After this, a conversation starts fresh (WhatsApp's window is 24 hours too).
const FORGET_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// The stored turns, each a list of `{role, content}` messages.
pub fn load(ai_context: &Value, now: Timestamp) -> Vec<Vec<Value>> {
    let fresh = ai_context["updated_at"]
        .as_str()
        .and_then(|at| at.parse::<Timestamp>().ok())
        .is_some_and(|at| now.duration_since(at) < FORGET_AFTER);
    if !fresh {
        return Vec::new();
    }
    ai_context["turns"]
        .as_array()
        .map(|turns| turns.iter().filter_map(|t| t.as_array().cloned()).collect())
        .unwrap_or_default()
}

/// The stored turns flattened into the `messages` of a request.
pub fn messages(turns: &[Vec<Value>]) -> Vec<Value> {
    turns.iter().flatten().cloned().collect()
}

/// `turns` with `latest` added, trimmed, as the new `ai_context`.
pub fn with(mut turns: Vec<Vec<Value>>, latest: Vec<Value>, now: Timestamp) -> Value {
    turns.push(latest);
    while turns.len() > MAX_TURNS
        || (turns.len() > 1 && serde_json::to_vec(&turns).map_or(0, |b| b.len()) > MAX_BYTES)
    {
        turns.remove(0);
    }
    json!({"turns": turns, "updated_at": now.to_string()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_transcripts_are_forgotten_and_long_ones_trimmed_by_whole_turns() {
        let now: Timestamp = "2026-12-07T15:00:00Z".parse().unwrap();
        let turn = |n: usize| {
            vec![
                json!({"role": "user", "content": format!("m{n}")}),
                json!({"role": "assistant", "content": "ok"}),
            ]
        };
        let mut context = json!({});
        for n in 0..10 {
            context = with(load(&context, now), turn(n), now);
        }
        let turns = load(&context, now);
        assert_eq!(turns.len(), MAX_TURNS);
        assert_eq!(turns[0][0]["content"], "m2");
        assert_eq!(messages(&turns).len(), MAX_TURNS * 2);
        let tomorrow = now + SignedDuration::from_hours(25);
        assert!(load(&context, tomorrow).is_empty());
    }
}
