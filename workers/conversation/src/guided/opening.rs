//! When the business is open on a day, as scheduling says (closures taken out): what
//! blocking time offers.

use cita_shared::contracts::scheduling::{OpeningHoursRequest, Outcome, Request, TimeRange};
use jiff::{SignedDuration, Timestamp, civil::Date};

use super::{Asked, Guided};

impl Guided<'_> {
    /// Half-hour starts within the business hours of `day` that are still ahead.
    pub(super) async fn block_starts(&self, day: Date) -> Result<Vec<Timestamp>, String> {
        let mut starts = Vec::new();
        for open in self.open(day).await? {
            let mut at = open.starts_at;
            while at + SignedDuration::from_mins(30) <= open.ends_at {
                if at > self.now {
                    starts.push(at);
                }
                at += SignedDuration::from_mins(30);
            }
        }
        Ok(starts)
    }

    /// When the business closes on the day of `at`, if that is after `at`.
    pub(super) async fn closing(&self, at: Timestamp) -> Result<Option<Timestamp>, String> {
        Ok(self
            .open(self.local_day(at))
            .await?
            .into_iter()
            .map(|open| open.ends_at)
            .filter(|close| *close > at)
            .max())
    }

    /// When the business is open on `day`, as scheduling says (closures taken out), or
    /// words saying why not.
    pub(super) async fn open(&self, day: Date) -> Result<Vec<TimeRange>, String> {
        let request = Request::OpeningHours(OpeningHoursRequest {
            actor: self.person.actor,
            day,
        });
        match self.ask(request).await {
            Asked::Got(Outcome::Opening { ranges }) => Ok(ranges),
            Asked::Got(_) | Asked::Unavailable => Err(self.words().unavailable().into()),
            Asked::Refused(error) => Err(self.refusal(&error)),
        }
    }
}
