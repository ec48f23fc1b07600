//! Guided mode: booking without the AI. A deterministic flow on WhatsApp's reply
//! buttons and lists that a person completes by tapping (or typing an option's number
//! or title). It is what runs when no Anthropic key is configured, for organizations
//! that chose it, and — for those with the fallback — while the model is unavailable or
//! the day's AI budget is spent.
//!
//! Each waiting message moves the flow one step: the step's options are re-read from
//! scheduling (real free slots only), its replies are published with ids derived from
//! the message, and the new state is saved with the message marked answered. Writes go
//! through the same scheduling requests as the AI's tools, keyed by the message, so a
//! turn run again after a crash books nothing twice and sends nothing twice.

pub mod action;
mod customer;
pub mod flow;
mod holds;
mod input;
mod opening;
mod owner;
mod screens;
mod staff;

use std::time::Duration;

use cita_shared::{
    contracts::{outbound::Message, scheduling::SchedulingError},
    error::Infra,
    spanish::{self, Words},
};
use jiff::Timestamp;
use uuid::Uuid;

use crate::{
    answer::{Answer, Commit, Committed, Pending, Sender, Update},
    context::{Business, Person, Persona},
    metrics::Metrics,
    tools::{ToolError, Toolbox},
};
use action::Action;
use flow::{Flow, Step};
use input::Input;
use screens::Screen;

/// Guided mode fails only when the database or the broker does.
pub type GuidedError = Infra;

/// Why a conversation is answered in guided mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// The organization chose it, or there is no model configured.
    Chosen,
    /// The model failed past its tries (now or moments ago).
    Outage,
    /// The organization's AI budget for today is spent.
    Budget,
}

/// What a picked option leads to.
enum Next {
    /// Say `texts`, then show `step` (with `note` above its options).
    Show {
        texts: Vec<String>,
        step: Step,
        note: Option<String>,
    },
    /// Say `texts`; the flow rests at its start without showing it again.
    Rest { texts: Vec<String> },
    /// Say `texts`; the guided flow is over (a person took the conversation).
    End { texts: Vec<String> },
}

impl Next {
    fn show(step: Step) -> Next {
        Next::Show {
            texts: vec![],
            step,
            note: None,
        }
    }

    fn show_with(step: Step, note: impl Into<String>) -> Next {
        Next::Show {
            texts: vec![],
            step,
            note: Some(note.into()),
        }
    }

    fn after(text: impl Into<String>, step: Step) -> Next {
        Next::Show {
            texts: vec![text.into()],
            step,
            note: None,
        }
    }
}

/// A scheduling answer that a guided step can act on: either its outcome or words
/// for the person (the step then shows its options again).
enum Asked<T> {
    Got(T),
    Refused(SchedulingError),
    Unavailable,
}

pub struct Guided<'a> {
    /// The pool, the broker and scheduling.
    pub toolbox: &'a Toolbox,
    pub metrics: &'a Metrics,
    /// The turn's lease, extended with every answer.
    pub lease: Duration,
    pub business: &'a Business,
    pub person: &'a Person,
    pub conversation_id: Uuid,
    /// The turn's lease holder: every answer is committed only while it holds the lease.
    pub holder: Uuid,
    pub now: Timestamp,
}

/// Whether `message` picks one of `flow`'s options (a tap, or a typed number or title):
/// such a message belongs to the guided flow even when it is at rest.
pub fn picks(message: &Pending, flow: &Flow, persona: Persona) -> bool {
    matches!(input::read(message, flow, persona), Input::Pick(_))
}

/// Whether `message` is a tap on a hold notice's buttons, from staff.
pub fn decides_hold(message: &Pending, persona: Persona) -> bool {
    persona != Persona::Customer
        && message
            .choice_id
            .as_deref()
            .is_some_and(|id| matches!(id.parse(), Ok(action::Action::Decide(..))))
}

impl Guided<'_> {
    /// Answers `waiting` one message at a time, from the current flow `flow`. Returns
    /// whether the turn is over: the lease went with the last answer, or was lost.
    pub async fn answer(
        &self,
        waiting: &[Pending],
        mut flow: Option<Flow>,
        entry: Entry,
    ) -> Result<bool, GuidedError> {
        let sender = Sender {
            publisher: &self.toolbox.publisher,
            topology: &self.toolbox.topology,
            organization_id: self.business.id,
        };
        if let Some(last) = waiting.last()
            && let Err(error) = sender
                .read_receipt(&self.person.wa_id, self.conversation_id, &last.wamid)
                .await
        {
            tracing::warn!(%error, "cannot mark messages read; answering anyway");
        }
        let commit = Commit {
            pool: &self.toolbox.pool,
            sender: &sender,
            to: &self.person.wa_id,
            conversation_id: self.conversation_id,
            holder: self.holder,
            lease: self.lease,
        };
        for message in waiting {
            let (messages, next) = self.respond(flow.take(), message, entry).await?;
            let ended = next.is_none();
            let stored = next
                .as_ref()
                .map(|f| serde_json::to_value(f).expect("a flow serializes to JSON"));
            let replies = messages
                .into_iter()
                .enumerate()
                .map(|(i, reply)| (format!("guided:{}:{i}", message.wamid), reply))
                .collect();
            let committed = commit
                .commit(Answer {
                    replies,
                    answered: &[message.id],
                    handled_as: "guided",
                    hands_off: ended,
                    update: Update::Guided { flow: stored },
                })
                .await?;
            match committed {
                Committed::LeaseLost => {
                    // Another worker answers from the stored flow.
                    self.metrics.turn("lease_lost");
                    return Ok(true);
                }
                // A person has it now; what else is waiting is theirs (the turn marks it).
                Committed::TakenOver => return Ok(false),
                Committed::Done { released } => {
                    self.metrics.turn("guided");
                    if released {
                        return Ok(true);
                    }
                }
            }
            if ended {
                return Ok(false);
            }
            flow = next;
        }
        Ok(false)
    }

    /// The replies to one message and the flow after it (`None`: the flow ended).
    async fn respond(
        &self,
        flow: Option<Flow>,
        message: &Pending,
        entry: Entry,
    ) -> Result<(Vec<Message>, Option<Flow>), GuidedError> {
        let persona = self.person.persona;
        let home = Step::home(persona);
        let fresh = flow.is_none();
        let mut flow = flow.unwrap_or_else(|| Flow::new(persona, false, self.now));
        let entering = entry != Entry::Chosen && !flow.fallback;
        flow.fallback |= entry != Entry::Chosen;
        let greeting = entering.then_some(self.words().fallback_note());
        let next = match input::read(message, &flow, persona) {
            Input::Pick(action) | Input::Intent(action) => {
                self.pick(&flow, action, &message.wamid).await?
            }
            Input::Typed(text) => match &flow.step {
                Step::Manage(owner::Manage::Typing { field }) => {
                    self.typed_owner(field, &text, &message.wamid)
                }
                step => Next::show_with(step.clone(), self.words().hint()),
            },
            Input::Menu => Next::show(home.clone()),
            Input::Quit => Next::after(self.words().quit(), home.clone()),
            Input::Unclear | Input::NotText if fresh => Next::show(home.clone()),
            Input::Stale => Next::show_with(flow.step.clone(), self.words().stale()),
            Input::Unclear => Next::show_with(flow.step.clone(), self.words().hint()),
            Input::NotText => Next::show_with(flow.step.clone(), self.words().not_text()),
        };
        flow.at = self.now;
        let (texts, flow) = match next {
            Next::Show { texts, step, note } => {
                let note = match (greeting, note) {
                    (Some(g), Some(n)) => Some(format!("{g}\n{n}")),
                    (g, n) => n.or(g.map(str::to_owned)),
                };
                flow.serial += 1;
                let (screen, step) = self.show(step, note, flow.serial).await?;
                flow.step = step;
                flow.shown = screen.shown;
                let mut messages: Vec<Message> = texts.into_iter().map(spanish::text).collect();
                messages.push(screen.message);
                return Ok((messages, Some(flow)));
            }
            Next::Rest { texts } => {
                flow.step = home;
                flow.shown.clear();
                (texts, Some(flow))
            }
            Next::End { texts } => (texts, None),
        };
        Ok((texts.into_iter().map(spanish::text).collect(), flow))
    }

    /// What picking `action` at `step` does.
    async fn pick(&self, flow: &Flow, action: Action, wamid: &str) -> Result<Next, GuidedError> {
        match action {
            Action::Book => return Ok(Next::show(Step::Services { page: 0 })),
            Action::Mine => return Ok(Next::show(Step::Appointments)),
            Action::Faq => return Ok(Next::show(Step::Questions)),
            Action::Info => {
                return Ok(Next::after(
                    self.where_and_when(),
                    Step::home(self.person.persona),
                ));
            }
            Action::Human => {
                crate::handoff::hand_off(
                    &self.toolbox.pool,
                    self.business,
                    self.conversation_id,
                    self.words().asked_for_person(),
                    self.now,
                )
                .await?;
                return Ok(Next::End {
                    texts: vec![self.words().handed_off().into()],
                });
            }
            _ => {}
        }
        match self.person.persona {
            Persona::Customer => self.pick_customer(flow, action, wamid).await,
            Persona::Staff | Persona::Owner => self.pick_staff(flow, action, wamid).await,
        }
    }

    /// The screen of `step`; when it has nothing to offer (no free days, no
    /// appointments, the agenda not answering), the screen of the step before it, with
    /// a note saying why.
    async fn show(
        &self,
        step: Step,
        note: Option<String>,
        serial: u32,
    ) -> Result<(Screen, Step), GuidedError> {
        let mut step = step;
        let mut notes: Vec<String> = note.into_iter().collect();
        loop {
            let shown = match self.person.persona {
                Persona::Customer => self.show_customer(&step, &notes, serial).await?,
                Persona::Staff | Persona::Owner => self.show_staff(&step, &notes, serial).await?,
            };
            match shown {
                Ok(screen) => return Ok((screen, step)),
                Err((instead, why)) => {
                    notes.push(why);
                    step = instead;
                }
            }
        }
    }

    /// Asks scheduling; refusals and silence become words rather than errors.
    async fn ask(
        &self,
        request: cita_shared::contracts::scheduling::Request,
    ) -> Asked<cita_shared::contracts::scheduling::Outcome> {
        match self.toolbox.ask(request).await {
            Ok(outcome) => Asked::Got(outcome),
            Err(ToolError::Scheduling(error)) => Asked::Refused(error),
            Err(_) => Asked::Unavailable,
        }
    }

    /// What the business says, in its locale's Spanish.
    fn words(&self) -> &'static dyn Words {
        self.business.words()
    }

    /// What a scheduling refusal means to the person.
    fn refusal(&self, error: &SchedulingError) -> String {
        refusal(self.words(), error)
    }

    /// The idempotency key of the write a step leads to: made when the step is entered
    /// (from the message that entered it), so tapping again after "the agenda does not
    /// answer" repeats the same write instead of making a second one.
    fn key(wamid: &str) -> String {
        format!("guided:{wamid}")
    }
}

/// The body of a screen: its notes (why it is shown, a hint) above its question.
fn body(notes: &[String], question: &str) -> String {
    let mut lines: Vec<&str> = notes.iter().map(String::as_str).collect();
    lines.push(question);
    lines.join("\n\n")
}

/// What a scheduling refusal means to the person.
fn refusal(words: &dyn Words, error: &SchedulingError) -> String {
    match error {
        SchedulingError::SlotTaken { .. } | SchedulingError::NotAvailable { .. } => {
            words.slot_gone().into()
        }
        SchedulingError::QuotaExceeded => words.quota().into(),
        SchedulingError::NotFound { .. } => words.gone().into(),
        SchedulingError::IllegalTransition { from, .. } => {
            words.refused(&words.already(from.as_str()))
        }
        SchedulingError::Forbidden => words.refused(words.not_yours()),
        // Scheduling's reasons are written for developers and the model, in English.
        SchedulingError::InvalidRequest { reason } => {
            tracing::info!(%reason, "scheduling refused a guided request");
            words.refused(words.invalid_request())
        }
        SchedulingError::TooLate { cutoff_minutes } => {
            words.refused(&words.too_late(*cutoff_minutes))
        }
        SchedulingError::HoldExpired { .. } => words.refused(words.hold_expired()),
        SchedulingError::AlreadyDecided { status } => {
            words.refused(&words.already(status.as_str()))
        }
        // Guided screens write to customers through notices, never as a person's reply.
        SchedulingError::OutsideWindow { .. } => words.refused(words.invalid_request()),
        // Someone changed the same thing at the same moment: trying again works.
        SchedulingError::Unavailable | SchedulingError::StaleVersion { .. } => {
            words.unavailable().into()
        }
    }
}
