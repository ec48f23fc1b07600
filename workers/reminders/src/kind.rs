//! What a notification row is about: written by the intake and the planner, read back
//! by the dispatcher. Stored as text in `notifications.kind`.

/// The kinds of notification, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Before an appointment, to the customer.
    Reminder,
    /// A new appointment: to staff and owners, and to a customer someone else booked for.
    Booked,
    Cancelled,
    Rescheduled,
    /// After a completed visit, to the customer.
    ReviewRequest,
    /// The free plan's monthly bookings ran out, to the owners.
    QuotaExceeded,
    /// A conversation went to a person, to the owners.
    HandedOff,
    /// The morning agenda, to each staff member (the whole day's to owners).
    Agenda,
    /// To someone just added to the team.
    StaffWelcome,
    /// A customer's booking waits: to the owners, with approve and reject buttons.
    HoldRequest,
    /// To the customer whose hold the owner rejected.
    HoldRejected,
    /// A hold ran out unanswered: to the customer and to the owners.
    HoldExpired,
    /// The link that pays a hold's deposit, to the customer.
    DepositRequest,
    /// A payment that did not confirm its hold: to the owners, and to the customer when
    /// it is given back.
    DepositIssue,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Reminder,
        Kind::Booked,
        Kind::Cancelled,
        Kind::Rescheduled,
        Kind::ReviewRequest,
        Kind::QuotaExceeded,
        Kind::HandedOff,
        Kind::Agenda,
        Kind::StaffWelcome,
        Kind::HoldRequest,
        Kind::HoldRejected,
        Kind::HoldExpired,
        Kind::DepositRequest,
        Kind::DepositIssue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reminder => "reminder",
            Kind::Booked => "booked",
            Kind::Cancelled => "cancelled",
            Kind::Rescheduled => "rescheduled",
            Kind::ReviewRequest => "review_request",
            Kind::QuotaExceeded => "quota_exceeded",
            Kind::HandedOff => "handed_off",
            Kind::Agenda => "agenda",
            Kind::StaffWelcome => "staff_welcome",
            Kind::HoldRequest => "hold_request",
            Kind::HoldRejected => "hold_rejected",
            Kind::HoldExpired => "hold_expired",
            Kind::DepositRequest => "deposit_request",
            Kind::DepositIssue => "deposit_issue",
        }
    }

    pub fn parse(stored: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_as_itself() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("birthday"), None);
    }
}
