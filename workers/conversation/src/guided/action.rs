//! What an option does. An option's id on WhatsApp is its action as text (after the
//! screen's serial, except for the start menus' actions, which work from any step);
//! stored flows remember the ids, so the text forms are stable.

use std::{fmt, str::FromStr};

use jiff::{Timestamp, civil::Date};
use uuid::Uuid;

use crate::context::Persona;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    // The customer's start menu.
    Book,
    Mine,
    Human,
    /// Where the business is and when it opens (reached by typing "¿dónde están?").
    Info,
    /// The business's frequent questions (reached by typing "tengo una pregunta").
    Faq,
    /// The answer to the `n`th frequent question.
    Question(u8),
    // The staff's and owner's start menu.
    Today,
    Tomorrow,
    Block,
    Mark,
    Release,
    /// The requests (holds) waiting for this person's answer.
    Requests,
    // Moving through a list.
    More,
    Earlier,
    Later,
    /// From a day's times back to the days.
    OtherDays,
    Back,
    // Picking something shown.
    Service(Uuid),
    Day(Date),
    Time(Timestamp),
    /// A staff member, or `None`: whoever is free.
    Staff(Option<Uuid>),
    Appointment(Uuid),
    Conversation(Uuid),
    // Answers to a question.
    Confirm,
    Change,
    Quit,
    CancelAppointment,
    MoveAppointment,
    Yes,
    No,
    // Blocking time.
    BlockToday,
    BlockTomorrow,
    StartAt(Timestamp),
    /// Minutes, or `None`: the rest of the day.
    Length(Option<i64>),
    // Marking an appointment.
    Completed,
    NoShow,
    // The owner's screens: `Manage(Topic::Menu)` is on the start menu.
    Manage(Topic),
    /// ISO weekday, 1 = Monday.
    Weekday(u8),
    /// The `n`th preset of a settings screen.
    Preset(u8),
    TimeOff(Uuid),
    /// A button of the notice of a hold: approve it (`true`) or reject it. Works from
    /// any step, in any assistant mode.
    Decide(Uuid, bool),
}

/// What an owner's option opens or changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Menu,
    Services,
    Team,
    Hours,
    Closures,
    Settings,
    Figures,
    Reminders,
    Reviews,
    Mode,
    Cutoff,
    New,
    Price,
    Duration,
    Retire,
    Remove,
    ReviewsOn,
    ReviewsOff,
    Link,
}

impl Topic {
    const ALL: [Topic; 19] = [
        Topic::Menu,
        Topic::Services,
        Topic::Team,
        Topic::Hours,
        Topic::Closures,
        Topic::Settings,
        Topic::Figures,
        Topic::Reminders,
        Topic::Reviews,
        Topic::Mode,
        Topic::Cutoff,
        Topic::New,
        Topic::Price,
        Topic::Duration,
        Topic::Retire,
        Topic::Remove,
        Topic::ReviewsOn,
        Topic::ReviewsOff,
        Topic::Link,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Topic::Menu => "menu",
            Topic::Services => "services",
            Topic::Team => "team",
            Topic::Hours => "hours",
            Topic::Closures => "closures",
            Topic::Settings => "settings",
            Topic::Figures => "figures",
            Topic::Reminders => "reminders",
            Topic::Reviews => "reviews",
            Topic::Mode => "mode",
            Topic::Cutoff => "cutoff",
            Topic::New => "new",
            Topic::Price => "price",
            Topic::Duration => "duration",
            Topic::Retire => "retire",
            Topic::Remove => "remove",
            Topic::ReviewsOn => "reviews_on",
            Topic::ReviewsOff => "reviews_off",
            Topic::Link => "link",
        }
    }
}

impl Action {
    /// The start menu's actions of `persona`: they work from any step.
    pub fn is_menu(self, persona: Persona) -> bool {
        match persona {
            Persona::Customer => matches!(
                self,
                Action::Book | Action::Mine | Action::Human | Action::Info | Action::Faq
            ),
            Persona::Staff | Persona::Owner => matches!(
                self,
                Action::Today
                    | Action::Tomorrow
                    | Action::Block
                    | Action::Mark
                    | Action::Release
                    | Action::Requests
                    | Action::Manage(Topic::Menu)
                    | Action::Decide(..)
            ),
        }
    }

    /// Whether it belongs to some start menu (its id carries no serial).
    pub fn is_any_menu(self) -> bool {
        self.is_menu(Persona::Customer) || self.is_menu(Persona::Staff)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Book => f.write_str("m:book"),
            Action::Mine => f.write_str("m:mine"),
            Action::Human => f.write_str("m:human"),
            Action::Info => f.write_str("m:info"),
            Action::Faq => f.write_str("m:faq"),
            Action::Question(n) => write!(f, "q:{n}"),
            Action::Today => f.write_str("s:today"),
            Action::Tomorrow => f.write_str("s:tomorrow"),
            Action::Block => f.write_str("s:block"),
            Action::Mark => f.write_str("s:mark"),
            Action::Release => f.write_str("s:release"),
            Action::Requests => f.write_str("s:holds"),
            Action::More => f.write_str("more"),
            Action::Earlier => f.write_str("earlier"),
            Action::Later => f.write_str("later"),
            Action::OtherDays => f.write_str("days"),
            Action::Back => f.write_str("back"),
            Action::Service(id) => write!(f, "svc:{id}"),
            Action::Day(day) => write!(f, "day:{day}"),
            Action::Time(at) => write!(f, "t:{}", at.as_second()),
            Action::Staff(Some(id)) => write!(f, "staff:{id}"),
            Action::Staff(None) => f.write_str("staff:any"),
            Action::Appointment(id) => write!(f, "appt:{id}"),
            Action::Conversation(id) => write!(f, "conv:{id}"),
            Action::Confirm => f.write_str("ok"),
            Action::Change => f.write_str("change"),
            Action::Quit => f.write_str("quit"),
            Action::CancelAppointment => f.write_str("cancel"),
            Action::MoveAppointment => f.write_str("move"),
            Action::Yes => f.write_str("yes"),
            Action::No => f.write_str("no"),
            Action::BlockToday => f.write_str("today"),
            Action::BlockTomorrow => f.write_str("tomorrow"),
            Action::StartAt(at) => write!(f, "at:{}", at.as_second()),
            Action::Length(Some(minutes)) => write!(f, "len:{minutes}"),
            Action::Length(None) => f.write_str("len:rest"),
            Action::Completed => f.write_str("completed"),
            Action::NoShow => f.write_str("no_show"),
            Action::Manage(Topic::Menu) => f.write_str("s:manage"),
            Action::Manage(topic) => write!(f, "mg:{}", topic.as_str()),
            Action::Weekday(day) => write!(f, "wd:{day}"),
            Action::Preset(n) => write!(f, "pre:{n}"),
            Action::TimeOff(id) => write!(f, "off:{id}"),
            Action::Decide(id, true) => write!(f, "hold:ok:{id}"),
            Action::Decide(id, false) => write!(f, "hold:no:{id}"),
        }
    }
}

/// An id that names no action (typed by hand, or from a newer binary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAction;

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        let (verb, value) = id.split_once(':').unwrap_or((id, ""));
        let uuid = || value.parse::<Uuid>().map_err(|_| UnknownAction);
        let instant = || {
            value
                .parse::<i64>()
                .ok()
                .and_then(|s| Timestamp::from_second(s).ok())
                .ok_or(UnknownAction)
        };
        Ok(match (verb, value) {
            ("m", "book") => Action::Book,
            ("m", "mine") => Action::Mine,
            ("m", "human") => Action::Human,
            ("m", "info") => Action::Info,
            ("m", "faq") => Action::Faq,
            ("q", _) => Action::Question(value.parse().map_err(|_| UnknownAction)?),
            ("s", "today") => Action::Today,
            ("s", "tomorrow") => Action::Tomorrow,
            ("s", "block") => Action::Block,
            ("s", "mark") => Action::Mark,
            ("s", "release") => Action::Release,
            ("s", "holds") => Action::Requests,
            ("more", "") => Action::More,
            ("earlier", "") => Action::Earlier,
            ("later", "") => Action::Later,
            ("days", "") => Action::OtherDays,
            ("back", "") => Action::Back,
            ("svc", _) => Action::Service(uuid()?),
            ("hold", _) => {
                let (answer, id) = value.split_once(':').ok_or(UnknownAction)?;
                let id = id.parse().map_err(|_| UnknownAction)?;
                match answer {
                    "ok" => Action::Decide(id, true),
                    "no" => Action::Decide(id, false),
                    _ => return Err(UnknownAction),
                }
            }
            ("day", _) => Action::Day(value.parse().map_err(|_| UnknownAction)?),
            ("t", _) => Action::Time(instant()?),
            ("staff", "any") => Action::Staff(None),
            ("staff", _) => Action::Staff(Some(uuid()?)),
            ("appt", _) => Action::Appointment(uuid()?),
            ("conv", _) => Action::Conversation(uuid()?),
            ("ok", "") => Action::Confirm,
            ("change", "") => Action::Change,
            ("quit", "") => Action::Quit,
            ("cancel", "") => Action::CancelAppointment,
            ("move", "") => Action::MoveAppointment,
            ("yes", "") => Action::Yes,
            ("no", "") => Action::No,
            ("today", "") => Action::BlockToday,
            ("tomorrow", "") => Action::BlockTomorrow,
            ("at", _) => Action::StartAt(instant()?),
            ("len", "rest") => Action::Length(None),
            ("len", _) => Action::Length(Some(value.parse().map_err(|_| UnknownAction)?)),
            ("completed", "") => Action::Completed,
            ("no_show", "") => Action::NoShow,
            ("s", "manage") => Action::Manage(Topic::Menu),
            ("mg", _) => Action::Manage(
                Topic::ALL
                    .into_iter()
                    .find(|t| *t != Topic::Menu && t.as_str() == value)
                    .ok_or(UnknownAction)?,
            ),
            ("wd", _) => Action::Weekday(
                value
                    .parse()
                    .ok()
                    .filter(|d| (1..=7).contains(d))
                    .ok_or(UnknownAction)?,
            ),
            ("pre", _) => Action::Preset(value.parse().map_err(|_| UnknownAction)?),
            ("off", _) => Action::TimeOff(uuid()?),
            _ => return Err(UnknownAction),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_id() {
        let id = Uuid::from_u128(7);
        let at = Timestamp::from_second(1_796_000_000).unwrap();
        let day: Date = "2026-12-08".parse().unwrap();
        let all = [
            Action::Book,
            Action::Mine,
            Action::Human,
            Action::Today,
            Action::Tomorrow,
            Action::Block,
            Action::Mark,
            Action::Release,
            Action::Requests,
            Action::More,
            Action::Earlier,
            Action::Later,
            Action::OtherDays,
            Action::Back,
            Action::Service(id),
            Action::Day(day),
            Action::Time(at),
            Action::Staff(Some(id)),
            Action::Staff(None),
            Action::Appointment(id),
            Action::Conversation(id),
            Action::Decide(id, true),
            Action::Decide(id, false),
            Action::Confirm,
            Action::Change,
            Action::Quit,
            Action::CancelAppointment,
            Action::MoveAppointment,
            Action::Yes,
            Action::No,
            Action::BlockToday,
            Action::BlockTomorrow,
            Action::StartAt(at),
            Action::Length(Some(90)),
            Action::Length(None),
            Action::Completed,
            Action::NoShow,
            Action::Weekday(7),
            Action::Preset(3),
            Action::Faq,
            Action::Question(4),
            Action::TimeOff(id),
        ];
        let topics = Topic::ALL.map(Action::Manage);
        for action in all.into_iter().chain(topics) {
            assert_eq!(action.to_string().parse::<Action>(), Ok(action), "{action}");
        }
        assert_eq!("svc:not-a-uuid".parse::<Action>(), Err(UnknownAction));
        assert_eq!("m:party".parse::<Action>(), Err(UnknownAction));
        assert_eq!("wd:8".parse::<Action>(), Err(UnknownAction));
        assert_eq!("mg:menu".parse::<Action>(), Err(UnknownAction));
        assert!(Action::Manage(Topic::Menu).is_menu(Persona::Owner));
        assert!(!Action::Manage(Topic::Team).is_any_menu());
        assert!(Action::Book.is_menu(Persona::Customer));
        assert!(!Action::Book.is_menu(Persona::Owner));
        assert!(Action::Today.is_menu(Persona::Staff));
        assert!(!Action::BlockToday.is_any_menu());
    }
}
