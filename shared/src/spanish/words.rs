//! Everything the fleet says to people, as one trait with a module per language
//! variant ([`super::es_mx`], [`super::es_co`]): a translator finds every sentence, date,
//! time and price format of a variant in its own file. What the assistant is *told*
//! (its prompt, its tools' descriptions and results) is not here: that is written for
//! the model, in `cita-conversation`.

use jiff::{Timestamp, civil::Date, tz::TimeZone};

/// One appointment line of an agenda, as staff read it.
pub struct AgendaLine<'a> {
    pub clock: &'a str,
    pub service: &'a str,
    pub customer: &'a str,
    pub staff: &'a str,
    pub completed: bool,
    pub no_show: bool,
}

/// Everything a conversation says; what the fleet says outside one is [`Notices`].
pub trait Words: Notices + Holds + Deposits + Send + Sync {
    // ---- Dates, times and money ----
    /// "martes 14 de octubre, 10:30" in `tz`.
    fn when(&self, at: Timestamp, tz: &TimeZone) -> String;
    /// "10:30" in `tz`.
    fn clock(&self, at: Timestamp, tz: &TimeZone) -> String;
    /// "lunes 7 de diciembre".
    fn day(&self, date: Date) -> String;
    /// "Lunes 7 dic": short enough for a list row's title.
    fn short_day(&self, date: Date) -> String;
    /// An amount in minor units with its currency: "$250 MXN".
    fn price(&self, minor: i64, currency: &str) -> String;

    // ---- What a turn says without the model ----
    fn not_readable(&self) -> &'static str;
    fn apology(&self) -> &'static str;
    fn flood(&self) -> &'static str;
    fn budget(&self) -> &'static str;
    fn fallback(&self) -> &'static str;
    fn handed_to_person(&self) -> &'static str;
    fn owner_notice_model_down(&self, who: &str, minutes: u64) -> String;

    // ---- Guided mode: notes ----
    fn hint(&self) -> &'static str;
    fn not_text(&self) -> &'static str;
    fn stale(&self) -> &'static str;
    fn quit(&self) -> &'static str;
    fn fallback_note(&self) -> &'static str;
    /// Above the business's addresses and hours ("where are you?", "what time?").
    fn where_and_when(&self, business: &str) -> String;
    fn how_to_get_there(&self) -> &'static str;
    fn no_address(&self) -> &'static str;
    fn payment_methods(&self) -> &'static str;
    /// Above the list of the business's frequent questions.
    fn faq_which(&self) -> &'static str;
    /// The business has written no frequent questions yet.
    fn no_faq(&self) -> &'static str;
    fn unavailable(&self) -> &'static str;
    fn slot_gone(&self) -> &'static str;
    fn no_services(&self) -> &'static str;
    fn no_appointments(&self) -> &'static str;
    fn appointment_gone(&self) -> &'static str;
    fn gone(&self) -> &'static str;
    fn day_full(&self) -> &'static str;
    fn handed_off(&self) -> &'static str;
    fn quota(&self) -> &'static str;
    fn nothing_to_mark(&self) -> &'static str;
    fn nothing_to_release(&self) -> &'static str;
    fn nothing_to_block(&self) -> &'static str;
    fn refused(&self, reason: &str) -> String;
    /// Why scheduling refused, as a reason for [`Words::refused`].
    fn already(&self, status: &str) -> String;
    fn not_yours(&self) -> &'static str;
    fn invalid_request(&self) -> &'static str;
    /// The business's cutoff for changes has passed (a reason for [`Words::refused`]).
    fn too_late(&self, cutoff_minutes: u32) -> String;

    // ---- Guided mode: the customer's screens ----
    fn greeting(&self, name: Option<&str>, business: &str) -> String;
    fn what_now(&self) -> &'static str;
    fn which_service(&self) -> &'static str;
    fn service_row(&self, minutes: i32, price: &str) -> String;
    fn which_day(&self, service: &str) -> String;
    fn free_times(&self, n: usize) -> String;
    fn no_days(&self, service: &str) -> String;
    fn which_time(&self, service: &str, day: &str) -> String;
    fn with(&self, names: &[&str]) -> String;
    fn which_staff(&self) -> &'static str;
    fn summary(
        &self,
        service: &str,
        price: &str,
        minutes: i32,
        when: &str,
        staff: Option<&str>,
        moving: bool,
    ) -> String;
    fn your_appointments(&self) -> &'static str;
    fn cancel_question(&self, label: &str) -> String;
    /// "Corte el lunes 7 de diciembre, 10:30 con Luis".
    fn label(&self, service: &str, when: &str, staff: Option<&str>) -> String;
    /// "lunes 7 de diciembre, 10:30 · con Luis".
    fn when_with(&self, when: &str, staff: Option<&str>) -> String;
    fn booked(&self, service: &str, when: &str, staff: &str, business: &str) -> String;
    fn moved(&self, service: &str, when: &str, staff: &str) -> String;
    fn cancelled(&self, label: &str) -> String;
    /// Who the booking is with when the screen can't name them.
    fn the_team(&self) -> &'static str;
    /// Why an appointment was cancelled or a conversation handed off, as staff read it.
    fn cancelled_from_menu(&self) -> &'static str;
    fn asked_for_person(&self) -> &'static str;
    fn appointment(&self) -> &'static str;

    // ---- Guided mode: the staff's screens ----
    fn staff_greeting(&self, name: Option<&str>) -> String;
    fn block_which_day(&self) -> &'static str;
    fn block_from(&self, day: &str) -> String;
    fn block_how_long(&self, from: &str) -> String;
    /// A length offered when blocking, in minutes.
    fn length(&self, minutes: i64) -> String;
    fn mark_which(&self) -> &'static str;
    fn mark_how(&self, label: &str) -> String;
    fn release_which(&self) -> &'static str;
    fn agenda_title(&self, tomorrow: bool) -> &'static str;
    fn agenda(&self, title: &str, day: &str, lines: &[String]) -> String;
    fn agenda_line(&self, line: &AgendaLine<'_>) -> String;
    fn agenda_detail(&self, service: &str, staff: &str) -> String;
    fn blocked(&self, from: &str, to: &str) -> String;
    fn marked(&self, label: &str, completed: bool) -> String;
    fn released(&self, who: &str) -> String;
    fn owner_replied(&self) -> &'static str;

    // ---- Guided mode: options, buttons and lists ----
    /// The title of an option that is the same on every screen ("Confirmar", "Volver").
    fn option(&self, option: Choice) -> &'static str;
    /// The button that opens a list of `what`.
    fn see(&self, what: ListOf) -> &'static str;
    fn list_footer(&self) -> &'static str;
}

/// What reminders and notices say, outside any conversation.
pub trait Notices: Send + Sync {
    fn hello(&self, name: Option<&str>) -> String;
    fn quota_reached(&self, business: &str, limit: u64) -> String;
    fn handoff_notice(&self, customer: &str, reason: &str) -> String;
    /// To someone just added to the team: what writing to this number does for them.
    fn staff_welcome(&self, name: &str, business: &str) -> String;
    fn review_request(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        link: Option<&str>,
    ) -> String;
    fn booked_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
        staff: &str,
    ) -> String;
    fn booked_notice(&self, customer: &str, service: &str, at: &str, staff: &str) -> String;
    fn cancelled_for_you(&self, hello: &str, business: &str, service: &str, at: &str) -> String;
    fn cancelled_notice(&self, customer: &str, service: &str, at: &str) -> String;
    fn moved_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
        staff: &str,
    ) -> String;
    fn moved_notice(
        &self,
        customer: &str,
        service: &str,
        at: &str,
        staff: &str,
        before: &str,
    ) -> String;
    fn unnamed_customer(&self) -> &'static str;
    fn a_customer(&self) -> &'static str;
    fn morning_agenda(&self, name: &str, day: &str, lines: &[String]) -> String;
    fn agenda_summary(&self, day: &str, count: usize, first: Option<&str>) -> String;
    fn and_more(&self, n: usize) -> String;
}

/// Options whose title does not depend on what is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Book,
    Mine,
    Human,
    Today,
    Tomorrow,
    Block,
    BlockHint,
    Mark,
    MarkHint,
    Release,
    ReleaseHint,
    OtherDay,
    Anyone,
    Confirm,
    Change,
    Quit,
    CancelAppointment,
    MoveAppointment,
    Back,
    YesCancel,
    No,
    BlockToday,
    BlockTomorrow,
    RestOfDay,
    Completed,
    NoShow,
    Earlier,
    Later,
    MoreServices,
    MoreDays,
    MoreAppointments,
}

/// What a list button opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOf {
    Options,
    Services,
    Days,
    Times,
    Team,
    Appointments,
    Hours,
    Lengths,
    Conversations,
}

/// What holds — bookings that wait for the owner's approval — make the fleet say, in a
/// conversation and in notices. `at` and `until` are already worded ([`Words::when`]).
pub trait Holds: Send + Sync {
    /// To the customer who just asked: taken for them, but not confirmed yet.
    fn held_for_you(&self, service: &str, at: &str, staff: &str, until: &str) -> String;
    /// To the owners: someone asks, and the buttons below decide.
    fn hold_request(&self, customer: &str, service: &str, at: &str, until: &str) -> String;
    fn approve(&self) -> &'static str;
    fn reject(&self) -> &'static str;
    /// To whoever tapped a button, once it is done.
    fn hold_decided(&self, approved: bool) -> &'static str;
    /// A reason for [`Words::refused`]: nobody decided in time.
    fn hold_expired(&self) -> &'static str;
    fn hold_rejected_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
        reason: Option<&str>,
    ) -> String;
    fn hold_expired_for_you(&self, hello: &str, business: &str, service: &str, at: &str) -> String;
    /// To the owners: a request ran out unanswered.
    fn hold_expired_notice(&self, customer: &str, service: &str, at: &str) -> String;
    /// The staff menu's row when `waiting` requests wait (a list row's title), and its
    /// description.
    fn holds_option(&self, waiting: usize) -> String;
    fn holds_hint(&self) -> &'static str;
    /// Above the list of requests.
    fn holds_which(&self) -> &'static str;
    /// When the list would be empty.
    fn nothing_to_decide(&self) -> &'static str;
}

/// Deposits: the link that pays one, and what happens when a payment does not confirm.
pub trait Deposits: Send + Sync {
    /// To the customer who just booked: the time is kept until `until` for a deposit of
    /// `amount`, whose link comes next.
    fn held_for_deposit(
        &self,
        service: &str,
        at: &str,
        staff: &str,
        amount: &str,
        until: &str,
    ) -> String;
    /// To the customer: pay `amount` by `until` at `link` to keep the time.
    #[allow(clippy::too_many_arguments)]
    fn deposit_request_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
        amount: &str,
        until: &str,
        link: &str,
    ) -> String;
    /// To the owners: a payment came in for another amount than the one asked.
    fn deposit_mismatch_notice(
        &self,
        customer: &str,
        service: &str,
        at: &str,
        asked: &str,
        paid: &str,
    ) -> String;
    /// To the customer: paid after the hold ended and the time was taken; money back.
    fn deposit_refund_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
        amount: &str,
    ) -> String;
    /// To the customer: the deposit did not come in time and the time was freed.
    fn deposit_lapsed_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
    ) -> String;
    /// To the owners: the same, so that nobody wonders where the money went.
    fn deposit_refund_notice(
        &self,
        customer: &str,
        service: &str,
        at: &str,
        amount: &str,
    ) -> String;
}
