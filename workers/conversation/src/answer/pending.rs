//! The inbound messages a turn answers, and what the model is shown of them.

use cita_shared::db::Cached;
use serde_json::{Value, json};
use uuid::Uuid;

/// Messages answered together in one turn at most; more wait for the next.
const BATCH: i64 = 20;

#[derive(Debug, Clone)]
pub struct Pending {
    pub id: Uuid,
    pub wamid: String,
    pub kind: String,
    pub body: Option<String>,
    /// The id of the tapped button or list row, for interactive replies.
    pub choice_id: Option<String>,
}

/// The conversation's unanswered inbound messages, in the order the person sent them.
pub async fn load(
    client: &impl Cached,
    conversation_id: Uuid,
) -> Result<Vec<Pending>, tokio_postgres::Error> {
    let rows = client
        .rows(
            "SELECT id, wa_message_id, content_kind, body, content->>'choice_id' FROM messages
             WHERE conversation_id = $1 AND direction = 'inbound' AND answered_at IS NULL
             ORDER BY sent_by_person_at, created_at LIMIT $2",
            &[&conversation_id, &BATCH],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Pending {
            id: r.get(0),
            wamid: r.get(1),
            kind: r.get(2),
            body: r.get(3),
            choice_id: r.get(4),
        })
        .collect())
}

/// Marks messages answered, and how.
pub async fn mark(
    client: &impl Cached,
    ids: &[Uuid],
    handled_as: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .run(
            "UPDATE messages SET answered_at = now(), handled_as = $2
             WHERE id = ANY($1) AND answered_at IS NULL",
            &[&ids, &handled_as],
        )
        .await?;
    Ok(())
}

/// What the model reads of the messages: one text block each, in order. `None` when
/// none of them holds text (only audio, images, places…): the model has nothing to read.
pub fn user_content(pending: &[Pending]) -> Option<Vec<Value>> {
    let mut readable = false;
    let blocks = pending
        .iter()
        .map(|m| {
            let text = match (m.kind.as_str(), m.body.as_deref()) {
                ("text" | "interactive", Some(body)) => {
                    readable = true;
                    body.to_owned()
                }
                ("image" | "video" | "document", caption) => {
                    readable |= caption.is_some();
                    let what = match m.kind.as_str() {
                        "image" => "una imagen",
                        "video" => "un video",
                        _ => "un documento",
                    };
                    match caption {
                        Some(c) => format!("[Envió {what} que no puedes ver, con el texto: «{c}»]"),
                        None => format!("[Envió {what} que no puedes ver]"),
                    }
                }
                ("audio", _) => "[Envió un audio que no puedes escuchar]".to_owned(),
                ("sticker", _) => "[Envió un sticker]".to_owned(),
                // Usually "where are you?": the answer is the business's address, which
                // the model has.
                ("location", place) => {
                    readable = true;
                    format!(
                        "[Compartió su ubicación{}. Si no dice más, responde con la dirección del negocio y el enlace del mapa.]",
                        place.map(|p| format!(": {p}")).unwrap_or_default()
                    )
                }
                ("contacts", _) => "[Compartió un contacto]".to_owned(),
                _ => "[Envió un mensaje que WhatsApp no muestra]".to_owned(),
            };
            json!({"type": "text", "text": text})
        })
        .collect();
    readable.then_some(blocks)
}
