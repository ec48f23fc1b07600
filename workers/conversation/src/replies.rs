//! What the worker says by itself, without the model, in the organization's Spanish.

/// Only non-text messages (audio, image, sticker, location, contacts) were sent.
pub fn not_readable() -> &'static str {
    "Por ahora solo puedo leer mensajes de texto 🙏 ¿Me lo escribes, por favor?"
}

/// The model kept failing past the retry bound: said once per outage.
pub fn apology() -> &'static str {
    "Tuvimos un problema técnico y no pude responderte aún. Te contesto en cuanto se resuelva 🙏"
}

/// Too many messages in a minute: said once.
pub fn flood() -> &'static str {
    "Recibí varios mensajes seguidos 🙂 Dame un momento y escríbeme en un solo mensaje lo que necesitas."
}

/// The organization's AI budget for the day is spent: said once a day per conversation.
pub fn budget() -> &'static str {
    "Por hoy no puedo seguir atendiendo por aquí. Una persona del negocio te responderá pronto 🙏"
}

/// The model ended without anything to say, or declined.
pub fn fallback() -> &'static str {
    "Perdón, no te entendí bien. ¿Me lo dices de otra forma?"
}

/// The model needed more tool calls than a turn allows, or refused: a person takes over.
pub fn handed_to_person() -> &'static str {
    "Le paso tu mensaje a una persona del negocio; te responderá pronto 🙏"
}

/// The owner's notice when the assistant could not answer someone for a while.
pub fn owner_notice_model_down(who: &str, minutes: u64) -> String {
    format!(
        "El asistente no ha podido responder a {who} desde hace {minutes} min por una falla técnica. Reintentará solo; si es urgente, contesta tú desde WhatsApp."
    )
}
