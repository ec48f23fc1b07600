//! What a person's message means to a guided flow: a tap on a shown option, the
//! number or title of one typed out, a few words ("hola", "menú", "cancelar"), a
//! customer's obvious intent ("quiero cambiar mi cita"), or nothing it can act on.

use super::{action::Action, flow::Flow};
use crate::{answer::Pending, context::Persona};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// An option's action.
    Pick(Action),
    /// A customer's typed intent: a start-menu action, from any step.
    Intent(Action),
    /// A tap on an option of an older message.
    Stale,
    /// "hola", "menú": back to the start.
    Menu,
    /// "cancelar", "salir": leave what is in progress.
    Quit,
    /// Text where the flow waits for a typed value.
    Typed(String),
    /// Text that matches nothing shown.
    Unclear,
    /// Audio, images, stickers…: nothing to read.
    NotText,
}

pub fn read(message: &Pending, flow: &Flow, persona: Persona) -> Input {
    if let Some(id) = &message.choice_id {
        // The start menus' buttons work from any step.
        let menu = id.parse::<Action>().ok().filter(|a| a.is_menu(persona));
        return match flow.action_of(id).or(menu) {
            Some(action) => Input::Pick(action),
            None => Input::Stale,
        };
    }
    // A customer who shares where they are is answered with where the business is.
    if message.kind == "location" && persona == Persona::Customer {
        return Input::Intent(Action::Info);
    }
    let Some(text) = message.body.as_deref().filter(|_| message.kind == "text") else {
        return Input::NotText;
    };
    let words = normalize(text);
    match words.as_str() {
        "hola" | "buenas" | "buenos dias" | "buenas tardes" | "buenas noches" | "menu"
        | "inicio" | "empezar" | "volver" => return Input::Menu,
        "cancelar" | "salir" | "nada" | "ya no" => return Input::Quit,
        _ => {}
    }
    // A price or a name is the value asked for, even if it looks like an option's number.
    if flow.step.wants_text() {
        return Input::Typed(text.trim().to_owned());
    }
    let picked = match words.parse::<usize>() {
        Ok(n) => n.checked_sub(1).and_then(|i| flow.shown.get(i)),
        Err(_) => flow.shown.iter().find(|s| normalize(&s.title) == words),
    };
    if let Some(action) = picked.and_then(|shown| flow.action_of(&shown.id)) {
        return Input::Pick(action);
    }
    match persona {
        Persona::Customer => intent(&words).map_or(Input::Unclear, Input::Intent),
        Persona::Staff | Persona::Owner => Input::Unclear,
    }
}

/// The obvious intents of a customer's words, first match wins: a small table of whole
/// words and phrases, not language understanding. Asking for a person comes first (it
/// must never be mistaken), changes before bookings ("cambiar mi cita" is about one
/// they have), and prices open the services list, which shows them.
const INTENTS: &[(&[&str], Action)] = &[
    (
        &[
            "hablar con",
            "con alguien",
            "una persona",
            "humano",
            "asesor",
            "encargado",
            "encargada",
        ],
        Action::Human,
    ),
    (
        &[
            "cambiar",
            "cambio",
            "mover",
            "moverla",
            "reagendar",
            "reprogramar",
            "posponer",
            "recorrer",
        ],
        Action::Mine,
    ),
    (&["cancelar", "cancelarla", "anular"], Action::Mine),
    (
        &[
            "mis citas",
            "mi cita",
            "mi reserva",
            "mis reservas",
            "tengo cita",
        ],
        Action::Mine,
    ),
    (
        &[
            "donde",
            "ubicacion",
            "ubicados",
            "direccion",
            "como llego",
            "llegar",
            "mapa",
            "horario",
            "horarios",
            "abren",
            "cierran",
        ],
        Action::Info,
    ),
    (
        &[
            "pregunta",
            "preguntas",
            "preguntar",
            "duda",
            "dudas",
            "informacion",
            "formas de pago",
            "aceptan",
        ],
        Action::Faq,
    ),
    (
        &[
            "precio",
            "precios",
            "cuanto cuesta",
            "cuanto cobran",
            "cuesta",
            "costo",
            "costos",
            "tarifa",
            "tarifas",
        ],
        Action::Book,
    ),
    (
        &[
            "agendar", "agenda", "reservar", "cita", "citas", "turno", "apartar",
        ],
        Action::Book,
    ),
];

fn intent(words: &str) -> Option<Action> {
    // Whole words: "precioso" is not "precio", "personas" not "una persona".
    let padded = format!(" {words} ");
    INTENTS
        .iter()
        .find(|(phrases, _)| {
            phrases
                .iter()
                .any(|phrase| padded.contains(&format!(" {phrase} ")))
        })
        .map(|(_, action)| *action)
}

/// Lowercase, without accents, punctuation or extra spaces: "¡Menú!" → "menu".
fn normalize(text: &str) -> String {
    let folded: String = text
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' => 'a',
            'é' | 'è' | 'ë' => 'e',
            'í' | 'ì' | 'ï' => 'i',
            'ó' | 'ò' | 'ö' => 'o',
            'ú' | 'ù' | 'ü' => 'u',
            c if c.is_alphanumeric() || c == ':' => c,
            _ => ' ',
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guided::flow::Shown;

    fn message(kind: &str, body: Option<&str>, choice: Option<&str>) -> Pending {
        Pending {
            id: uuid::Uuid::nil(),
            wamid: "wamid.x".into(),
            kind: kind.into(),
            body: body.map(Into::into),
            choice_id: choice.map(Into::into),
        }
    }

    const A: uuid::Uuid = uuid::Uuid::from_u128(0xa);
    const B: uuid::Uuid = uuid::Uuid::from_u128(0xb);

    fn flow() -> Flow {
        let mut flow = Flow::new(Persona::Customer, false, jiff::Timestamp::UNIX_EPOCH);
        flow.serial = 7;
        flow.shown = vec![
            Shown {
                id: format!("7.{}", Action::Service(A)),
                title: "Corte de cabello".into(),
            },
            Shown {
                id: format!("7.{}", Action::Service(B)),
                title: "Arreglo de barba".into(),
            },
        ];
        flow
    }

    #[test]
    fn numbers_titles_and_words_pick_what_was_shown() {
        let flow = flow();
        let read = |text: &str| read(&message("text", Some(text), None), &flow, Persona::Customer);
        assert_eq!(read("2"), Input::Pick(Action::Service(B)));
        assert_eq!(read(" 1. "), Input::Pick(Action::Service(A)));
        assert_eq!(read("3"), Input::Unclear);
        assert_eq!(read("arreglo de BARBA"), Input::Pick(Action::Service(B)));
        assert_eq!(read("¡Hola!"), Input::Menu);
        assert_eq!(read("Menú"), Input::Menu);
        assert_eq!(read("Cancelar"), Input::Quit);
        assert_eq!(read("quiero algo"), Input::Unclear);
    }

    #[test]
    fn a_customers_obvious_intents_land_where_they_mean_and_near_misses_do_not() {
        let flow = flow();
        let read = |text: &str, persona| read(&message("text", Some(text), None), &flow, persona);
        let table = [
            ("Quiero cambiar mi cita", Some(Action::Mine)),
            ("¿Puedo mover mi cita del martes?", Some(Action::Mine)),
            ("necesito cancelar mi cita", Some(Action::Mine)),
            ("mis citas", Some(Action::Mine)),
            ("quiero agendar", Some(Action::Book)),
            ("Quisiera una cita para mañana", Some(Action::Book)),
            ("¿Cuánto cuesta el corte?", Some(Action::Book)),
            ("precios", Some(Action::Book)),
            ("¿Dónde están?", Some(Action::Info)),
            ("ubicación", Some(Action::Info)),
            ("¿Qué horario tienen?", Some(Action::Info)),
            ("¿A qué hora abren?", Some(Action::Info)),
            ("Tengo una pregunta", Some(Action::Faq)),
            ("¿aceptan tarjeta?", Some(Action::Faq)),
            ("dudas", Some(Action::Faq)),
            ("Quiero hablar con alguien", Some(Action::Human)),
            ("me pasas con un asesor?", Some(Action::Human)),
            (
                "¿Cambiar la cita? mejor hablar con alguien",
                Some(Action::Human),
            ),
            // Near misses.
            ("qué precioso quedó", None),
            ("somos dos personas", None),
            ("gracias", None),
            ("ok", None),
            ("quiero algo", None),
            ("citadino", None),
            ("preguntón", None),
        ];
        for (text, expected) in table {
            let got = read(text, Persona::Customer);
            let want = expected.map_or(Input::Unclear, Input::Intent);
            assert_eq!(got, want, "{text:?}");
        }
        // Options shown win over intents; staff words are not a customer's intents.
        assert_eq!(
            read("2", Persona::Customer),
            Input::Pick(Action::Service(B))
        );
        assert_eq!(read("mis citas", Persona::Owner), Input::Unclear);
        // "cancelar" alone still leaves what is in progress.
        assert_eq!(read("cancelar", Persona::Customer), Input::Quit);
    }

    #[test]
    fn taps_on_older_lists_are_stale_but_menu_buttons_always_work() {
        let flow = flow();
        let tap =
            |id: &str, persona| read(&message("interactive", Some("x"), Some(id)), &flow, persona);
        assert_eq!(
            tap(&format!("7.{}", Action::Service(A)), Persona::Customer),
            Input::Pick(Action::Service(A))
        );
        assert_eq!(
            tap(&format!("6.{}", Action::Service(A)), Persona::Customer),
            Input::Stale
        );
        assert_eq!(tap("m:book", Persona::Customer), Input::Pick(Action::Book));
        assert_eq!(tap("s:today", Persona::Customer), Input::Stale);
        assert_eq!(tap("s:today", Persona::Owner), Input::Pick(Action::Today));
        assert_eq!(
            read(&message("audio", None, None), &flow, Persona::Customer),
            Input::NotText
        );
    }
}
