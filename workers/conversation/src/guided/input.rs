//! What a person's message means to a guided flow: a tap on a shown option, the
//! number or title of one typed out, a few words ("hola", "menú", "cancelar"), or
//! nothing it can act on.

use super::flow::Flow;
use crate::{context::Persona, turns::Pending};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// An option's action (the id without the screen's serial).
    Pick(String),
    /// A tap on an option of an older message.
    Stale,
    /// "hola", "menú": back to the start.
    Menu,
    /// "cancelar", "salir": leave what is in progress.
    Quit,
    /// Text that matches nothing shown.
    Unclear,
    /// Audio, images, stickers…: nothing to read.
    NotText,
}

/// Options that work from any step (the start menus' buttons), for the persona's menu.
pub fn global(persona: Persona, action: &str) -> bool {
    match persona {
        Persona::Customer => matches!(action, "m:book" | "m:mine" | "m:human"),
        Persona::Staff | Persona::Owner => matches!(
            action,
            "s:today" | "s:tomorrow" | "s:block" | "s:mark" | "s:release"
        ),
    }
}

pub fn read(message: &Pending, flow: &Flow, persona: Persona) -> Input {
    if let Some(id) = &message.choice_id {
        return match flow.action_of(id) {
            Some(action) => Input::Pick(action.to_owned()),
            None if global(persona, id) => Input::Pick(id.clone()),
            None => Input::Stale,
        };
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
    if let Ok(n) = words.parse::<usize>()
        && let Some(shown) = n.checked_sub(1).and_then(|i| flow.shown.get(i))
    {
        return Input::Pick(flow.action_of(&shown.id).unwrap_or(&shown.id).to_owned());
    }
    flow.shown
        .iter()
        .find(|s| normalize(&s.title) == words)
        .map_or(Input::Unclear, |s| {
            Input::Pick(flow.action_of(&s.id).unwrap_or(&s.id).to_owned())
        })
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

    fn flow() -> Flow {
        let mut flow = Flow::new(Persona::Customer, false, jiff::Timestamp::UNIX_EPOCH);
        flow.serial = 7;
        flow.shown = vec![
            Shown {
                id: "7.svc:a".into(),
                title: "Corte de cabello".into(),
            },
            Shown {
                id: "7.svc:b".into(),
                title: "Arreglo de barba".into(),
            },
        ];
        flow
    }

    #[test]
    fn numbers_titles_and_words_pick_what_was_shown() {
        let flow = flow();
        let read = |text: &str| read(&message("text", Some(text), None), &flow, Persona::Customer);
        assert_eq!(read("2"), Input::Pick("svc:b".into()));
        assert_eq!(read(" 1. "), Input::Pick("svc:a".into()));
        assert_eq!(read("3"), Input::Unclear);
        assert_eq!(read("arreglo de BARBA"), Input::Pick("svc:b".into()));
        assert_eq!(read("¡Hola!"), Input::Menu);
        assert_eq!(read("Menú"), Input::Menu);
        assert_eq!(read("Cancelar"), Input::Quit);
        assert_eq!(read("quiero algo"), Input::Unclear);
    }

    #[test]
    fn taps_on_older_lists_are_stale_but_menu_buttons_always_work() {
        let flow = flow();
        let tap =
            |id: &str, persona| read(&message("interactive", Some("x"), Some(id)), &flow, persona);
        assert_eq!(
            tap("7.svc:a", Persona::Customer),
            Input::Pick("svc:a".into())
        );
        assert_eq!(tap("6.svc:a", Persona::Customer), Input::Stale);
        assert_eq!(
            tap("m:book", Persona::Customer),
            Input::Pick("m:book".into())
        );
        assert_eq!(tap("s:today", Persona::Customer), Input::Stale);
        assert_eq!(
            tap("s:today", Persona::Owner),
            Input::Pick("s:today".into())
        );
        assert_eq!(
            read(&message("audio", None, None), &flow, Persona::Customer),
            Input::NotText
        );
    }
}
