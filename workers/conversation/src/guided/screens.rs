//! Options as WhatsApp shows them: up to three reply buttons, or a list of up to ten
//! rows; titles and texts clipped to Meta's limits. Option ids carry the screen's
//! serial (except the start menus', which work from anywhere).

use cita_shared::{
    contracts::outbound::{self, Buttons, List, Message, Row, Section},
    spanish::{Choice, Words, clip},
};

use super::{action::Action, flow::Shown};

/// One option: what it does, and what the person sees.
#[derive(Debug, Clone)]
pub struct Opt {
    pub action: Action,
    pub title: String,
    pub description: Option<String>,
}

pub fn opt(action: Action, title: impl Into<String>) -> Opt {
    Opt {
        action,
        title: title.into(),
        description: None,
    }
}

pub fn row(action: Action, title: impl Into<String>, description: String) -> Opt {
    Opt {
        action,
        title: title.into(),
        description: Some(description),
    }
}

/// A message with options, and the options as remembered by the flow.
#[derive(Debug, Clone)]
pub struct Screen {
    pub message: Message,
    pub shown: Vec<Shown>,
}

const MAX_BUTTONS: usize = 3;
const MAX_ROWS: usize = 10;
const BUTTON_TITLE: usize = 20;
const ROW_TITLE: usize = 24;
const ROW_DESCRIPTION: usize = 72;
const BODY: usize = 1024;

/// Buttons when the options fit them (three at most, short titles, no descriptions),
/// otherwise a list opened by `button`.
pub fn render(
    words: &dyn Words,
    serial: u32,
    body: &str,
    button: &str,
    options: Vec<Opt>,
) -> Screen {
    let ids: Vec<String> = options
        .iter()
        .map(|o| {
            if o.action.is_any_menu() {
                o.action.to_string()
            } else {
                format!("{serial}.{}", o.action)
            }
        })
        .collect();
    let as_buttons = options.len() <= MAX_BUTTONS
        && options
            .iter()
            .all(|o| o.description.is_none() && o.title.chars().count() <= BUTTON_TITLE);
    let title_limit = if as_buttons { BUTTON_TITLE } else { ROW_TITLE };
    let shown: Vec<Shown> = ids
        .iter()
        .zip(&options)
        .take(MAX_ROWS)
        .map(|(id, o)| Shown {
            id: id.clone(),
            title: clip(&o.title, title_limit),
        })
        .collect();
    let body = clip(body, BODY);
    let message = if as_buttons {
        Message::Buttons(Buttons {
            header: None,
            body,
            footer: None,
            buttons: shown
                .iter()
                .map(|s| outbound::Choice {
                    id: s.id.clone(),
                    title: s.title.clone(),
                })
                .collect(),
        })
    } else {
        Message::List(List {
            header: None,
            body,
            footer: Some(words.list_footer().into()),
            button: clip(button, BUTTON_TITLE),
            sections: vec![Section {
                title: None,
                rows: shown
                    .iter()
                    .zip(&options)
                    .map(|(s, o)| Row {
                        id: s.id.clone(),
                        title: s.title.clone(),
                        description: o.description.as_deref().map(|d| clip(d, ROW_DESCRIPTION)),
                    })
                    .collect(),
            }],
        })
    };
    Screen { message, shown }
}

/// Rows `from..` of `items`, at most `per_page`, with "earlier"/"later" rows around
/// them when there is more on either side.
pub fn window(words: &dyn Words, items: Vec<Opt>, from: usize, per_page: usize) -> Vec<Opt> {
    let from = from.min(items.len().saturating_sub(1));
    let mut rows = Vec::new();
    if from > 0 {
        rows.push(opt(Action::Earlier, words.option(Choice::Earlier)));
    }
    let more = items.len() > from + per_page;
    rows.extend(items.into_iter().skip(from).take(per_page));
    if more {
        rows.push(opt(Action::Later, words.option(Choice::Later)));
    }
    rows
}

/// Page `page` of `items` in lists of ten: nine and a "more" row while more remain.
pub fn page(items: Vec<Opt>, page: usize, more_title: &str) -> Vec<Opt> {
    const PER_PAGE: usize = MAX_ROWS - 1;
    if items.len() <= MAX_ROWS {
        return items;
    }
    let start = (page * PER_PAGE).min(items.len().saturating_sub(1) / PER_PAGE * PER_PAGE);
    let more = items.len() > start + PER_PAGE;
    let mut rows: Vec<Opt> = items.into_iter().skip(start).take(PER_PAGE).collect();
    if more {
        rows.push(opt(Action::More, more_title));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> &'static dyn Words {
        cita_shared::spanish::words("es-MX")
    }

    /// Item `i` picks the service numbered `i`.
    fn item(i: u128) -> Action {
        Action::Service(uuid::Uuid::from_u128(i))
    }

    fn items(n: u128) -> Vec<Opt> {
        (0..n)
            .map(|i| opt(item(i), format!("Opción {i}")))
            .collect()
    }

    #[test]
    fn three_short_options_are_buttons_and_more_are_a_list_within_limits() {
        let screen = render(
            words(),
            2,
            "¿Qué quieres hacer?",
            "Ver",
            vec![opt(Action::Book, "Agendar cita"), opt(Action::Back, "Otra")],
        );
        let Message::Buttons(buttons) = &screen.message else {
            panic!("{:?}", screen.message)
        };
        assert_eq!(buttons.buttons[0].id, "m:book");
        assert_eq!(buttons.buttons[1].id, "2.back");
        assert!(screen.message.validate().is_ok());

        let long = "Un servicio con un nombre larguísimo";
        let mut options = items(9);
        options.push(row(Action::Back, long, "d".repeat(100)));
        let screen = render(
            words(),
            3,
            &"b".repeat(2000),
            "Ver opciones de la lista",
            options,
        );
        let Message::List(list) = &screen.message else {
            panic!("{:?}", screen.message)
        };
        assert_eq!(list.sections[0].rows.len(), 10);
        assert_eq!(list.sections[0].rows[9].title.chars().count(), 24);
        assert!(
            screen.message.validate().is_ok(),
            "{:?}",
            screen.message.validate()
        );
        assert_eq!(screen.shown.len(), 10);
    }

    #[test]
    fn pages_hold_nine_and_a_more_row() {
        let first = page(items(14), 0, "Más");
        assert_eq!(first.len(), 10);
        assert_eq!(first[9].action, Action::More);
        let second = page(items(14), 1, "Más");
        assert_eq!(second.len(), 5);
        assert_eq!(second[0].action, item(9));
        assert_eq!(page(items(10), 0, "Más").len(), 10);
        // Past the end: the last page.
        assert_eq!(page(items(14), 5, "Más")[0].action, item(9));
    }

    #[test]
    fn windows_offer_earlier_and_later() {
        let rows = window(words(), items(30), 0, 7);
        assert_eq!(rows.len(), 8);
        assert_eq!(rows[7].action, Action::Later);
        let rows = window(words(), items(30), 7, 7);
        assert_eq!(rows[0].action, Action::Earlier);
        assert_eq!(rows[1].action, item(7));
        assert_eq!(rows.len(), 9);
        let rows = window(words(), items(30), 28, 7);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].action, item(29));
    }
}
