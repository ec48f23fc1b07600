//! "¿Dónde están?", "¿a qué hora abren?": each location with its address, how to get
//! there and a map link, then the week's opening hours, in the business's clock.

use cita_shared::spanish;
use jiff::civil::Time;

use crate::guided::Guided;

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
