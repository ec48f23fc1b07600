//! "¿Dónde están?", "¿a qué hora abren?": each location with its address, how to get
//! there and a map link, the payment methods, then the week's opening hours, in the
//! business's clock. "Tengo una pregunta": the owner's frequent questions, one tap to
//! each answer.

use cita_shared::spanish::{self, clip};
use jiff::civil::Time;

use crate::guided::{
    Guided,
    action::Action,
    screens::{Opt, opt, row},
};

/// Questions a list shows: WhatsApp's ten rows.
const LISTED: usize = 10;
/// A row's title; a longer question goes on in the row's description.
const TITLE: usize = 24;

impl Guided<'_> {
    pub(in crate::guided) fn where_and_when(&self) -> String {
        let business = self.business;
        let words = self.words();
        let mut text = words.where_and_when(&business.name);
        let mut any_address = false;
        for location in &business.info.locations {
            let Some(address) = &location.address else {
                continue;
            };
            any_address = true;
            text.push_str(&format!("\n\n*{}*: {address}", location.name));
            if let Some(directions) = &location.directions {
                text.push_str(&format!("\n{}: {directions}", words.how_to_get_there()));
            }
            if let Some(link) = location.map_link() {
                text.push_str(&format!("\n{link}"));
            }
        }
        if !any_address {
            text.push_str(&format!("\n\n{}", words.no_address()));
        }
        if !business.info.payment_methods.is_empty() {
            text.push_str(&format!(
                "\n\n{}: {}.",
                words.payment_methods(),
                business.info.payment_methods.join(", ")
            ));
        }
        text.push_str(&format!("\n\n{}:", spanish::OPENING_HOURS));
        let today = self.today();
        let clock = |hhmm: &str| -> String {
            let at = hhmm.parse::<Time>().ok().and_then(|t| {
                today
                    .to_datetime(t)
                    .to_zoned(business.time_zone.clone())
                    .ok()
            });
            match at {
                Some(at) => words.clock(at.timestamp(), &business.time_zone),
                None => hhmm.to_owned(),
            }
        };
        for (day, name) in spanish::WEEKDAYS.iter().enumerate() {
            let shifts: Vec<String> = business
                .shifts(day + 1)
                .map(|(opens, closes)| format!("{}–{}", clock(opens), clock(closes)))
                .collect();
            let hours = if shifts.is_empty() {
                spanish::CLOSED.to_owned()
            } else {
                shifts.join(", ")
            };
            text.push_str(&format!("\n{name}: {hours}"));
        }
        text
    }
}

impl Guided<'_> {
    /// The first questions of the owner's FAQ, as options.
    pub(in crate::guided) fn questions(&self) -> Vec<Opt> {
        self.business
            .info
            .faq
            .iter()
            .take(LISTED)
            .enumerate()
            .map(|(i, (question, _))| {
                let action = Action::Question(i as u8);
                if question.chars().count() <= TITLE {
                    opt(action, question.clone())
                } else {
                    row(action, clip(question, TITLE), clip(question, 72))
                }
            })
            .collect()
    }

    /// The `n`th question with its answer.
    pub(in crate::guided) fn faq_answer(&self, n: u8) -> Option<String> {
        let (question, answer) = self.business.info.faq.get(usize::from(n))?;
        Some(format!("*{question}*\n{answer}"))
    }
}
