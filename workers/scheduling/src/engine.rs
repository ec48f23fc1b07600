//! The availability engine: free start times for a service, computed from weekly hours in
//! the organization's time zone, dated exceptions and live appointments. Pure: the
//! caller loads the inputs and passes the clock.
//!
//! Wall-clock hours ("10:00–14:00 on Mondays") become instants per date in the
//! organization's zone, and slots step through those instants in absolute time. On a day
//! when clocks change, a 00:00–06:00 shift therefore lasts five or seven real hours and
//! no slot lands on a local time that does not exist.

use std::collections::BTreeMap;

use jiff::{
    SignedDuration, Timestamp, ToSpan,
    civil::{Date, Time},
    tz::TimeZone,
};
use uuid::Uuid;

/// A half-open interval of local wall-clock time within one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalHours {
    pub start: Time,
    pub end: Time,
}

/// Local hours per ISO weekday; index 0 is Monday.
pub type Week = [Vec<LocalHours>; 7];

/// A half-open interval of absolute time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Interval {
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// What is left of this interval outside `cut`: none, one or two parts.
    pub fn without(self, cut: &Interval) -> Vec<Interval> {
        if !self.overlaps(cut) {
            return vec![self];
        }
        let mut parts = Vec::with_capacity(2);
        if self.start < cut.start {
            parts.push(Interval {
                start: self.start,
                end: cut.start,
            });
        }
        if cut.end < self.end {
            parts.push(Interval {
                start: cut.end,
                end: self.end,
            });
        }
        parts
    }
}

/// Business-wide rules and calendar.
#[derive(Debug, Clone)]
pub struct Business {
    pub time_zone: TimeZone,
    pub opening_hours: Week,
    /// Closures and holidays: nobody can be booked inside them.
    pub closures: Vec<Interval>,
    /// No slot starts sooner than this after now.
    pub min_notice: SignedDuration,
    /// No slot starts later than this after now.
    pub horizon: SignedDuration,
    /// Distance between candidate start times.
    pub step: SignedDuration,
}

/// One bookable resource: a staff member, or a table / chair of a business that takes
/// several customers per slot. Only resources that perform the service are passed in.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: Uuid,
    pub working_hours: Week,
    /// Live appointments (their buffers included) and this resource's blocks and time off.
    pub busy: Vec<Interval>,
}

#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub duration: SignedDuration,
    /// Kept free after the service (cleaning, preparation).
    pub buffer: SignedDuration,
    /// First and last local date to search, inclusive.
    pub from: Date,
    pub to: Date,
    pub now: Timestamp,
}

/// A free start time and the resources that could take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub start: Timestamp,
    pub resources: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("the date range ends before it starts")]
    EmptyRange,
    #[error("the date range covers {0} days; at most {MAX_DAYS} are searched at once")]
    RangeTooLong(i32),
    #[error("durations and the slot step must be positive")]
    NonPositiveDuration,
    #[error("time arithmetic out of range: {0}")]
    Time(String),
}

/// The most days one query may cover: bounds the work of a single request.
pub const MAX_DAYS: i32 = 62;

/// Free start times for the query, earliest first.
pub fn free_slots(
    business: &Business,
    resources: &[Resource],
    query: &Query,
) -> Result<Vec<Slot>, EngineError> {
    if query.duration <= SignedDuration::ZERO || business.step <= SignedDuration::ZERO {
        return Err(EngineError::NonPositiveDuration);
    }
    let days = query.from.until(query.to).map_err(time_error)?.get_days() + 1;
    if days < 1 {
        return Err(EngineError::EmptyRange);
    }
    if days > MAX_DAYS {
        return Err(EngineError::RangeTooLong(days));
    }
    let earliest = query
        .now
        .checked_add(business.min_notice)
        .map_err(time_error)?;
    let latest = query
        .now
        .checked_add(business.horizon)
        .map_err(time_error)?;
    let occupied = query
        .duration
        .checked_add(query.buffer)
        .ok_or(EngineError::NonPositiveDuration)?;

    let mut busy_by_resource: Vec<Vec<Interval>> =
        resources.iter().map(|r| sorted(&r.busy)).collect();
    busy_by_resource.iter_mut().for_each(|b| b.dedup());
    let closures = sorted(&business.closures);

    let mut slots: BTreeMap<Timestamp, Vec<Uuid>> = BTreeMap::new();
    let mut date = query.from;
    for _ in 0..days {
        let weekday = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
        for (resource, busy) in resources.iter().zip(&busy_by_resource) {
            for hours in open_hours(
                &business.opening_hours[weekday],
                &resource.working_hours[weekday],
            ) {
                let shift = absolute(&business.time_zone, date, hours)?;
                let mut start = shift.start;
                // The service itself must end within the shift; its buffer may run past it.
                while start.checked_add(query.duration).map_err(time_error)? <= shift.end {
                    let candidate = Interval {
                        start,
                        end: start.checked_add(occupied).map_err(time_error)?,
                    };
                    if start >= earliest
                        && start <= latest
                        && !overlaps_any(&closures, &candidate)
                        && !overlaps_any(busy, &candidate)
                    {
                        slots.entry(start).or_default().push(resource.id);
                    }
                    start = start.checked_add(business.step).map_err(time_error)?;
                }
            }
        }
        date = date.checked_add(1.day()).map_err(time_error)?;
    }
    Ok(slots
        .into_iter()
        .map(|(start, resources)| Slot { start, resources })
        .collect())
}

/// When the business is open on `date`, as instants, with its closures taken out.
pub fn open(business: &Business, date: Date) -> Result<Vec<Interval>, EngineError> {
    let weekday = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
    let closures = sorted(&business.closures);
    let mut open = Vec::new();
    for hours in &business.opening_hours[weekday] {
        let mut rest = vec![absolute(&business.time_zone, date, *hours)?];
        for closure in &closures {
            rest = rest
                .into_iter()
                .flat_map(|part| part.without(closure))
                .collect();
        }
        open.extend(rest);
    }
    open.sort();
    Ok(open)
}

/// The parts of a resource's working hours that fall inside the opening hours.
fn open_hours(opening: &[LocalHours], working: &[LocalHours]) -> Vec<LocalHours> {
    let mut result = Vec::new();
    for open in opening {
        for work in working {
            let start = open.start.max(work.start);
            let end = open.end.min(work.end);
            if start < end {
                result.push(LocalHours { start, end });
            }
        }
    }
    result.sort_by_key(|h| h.start);
    result
}

/// Local hours on a date as absolute time. A local time skipped by a clock change is
/// taken as the instant the clocks jumped to (RFC 5545's rule, jiff's "compatible").
fn absolute(zone: &TimeZone, date: Date, hours: LocalHours) -> Result<Interval, EngineError> {
    let at = |time: Time| {
        zone.to_ambiguous_timestamp(date.to_datetime(time))
            .compatible()
            .map_err(time_error)
    };
    Ok(Interval {
        start: at(hours.start)?,
        end: at(hours.end)?,
    })
}

fn sorted(intervals: &[Interval]) -> Vec<Interval> {
    let mut sorted = intervals.to_vec();
    sorted.sort();
    sorted
}

/// Whether `candidate` overlaps any of `intervals`, which are sorted by start.
fn overlaps_any(intervals: &[Interval], candidate: &Interval) -> bool {
    // Only intervals starting before the candidate ends can overlap it.
    let before_end = intervals.partition_point(|i| i.start < candidate.end);
    intervals[..before_end]
        .iter()
        .rev()
        .any(|i| i.overlaps(candidate))
}

fn time_error(error: jiff::Error) -> EngineError {
    EngineError::Time(error.to_string())
}
