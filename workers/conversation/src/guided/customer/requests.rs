//! What the customer's flow asks scheduling: book or move, free times, their
//! upcoming appointments.

use cita_shared::contracts::scheduling::{
    Appointment, AvailabilityRequest, BookRequest, CustomerRequest, FreeSlot, Outcome, Request,
    RescheduleRequest, SchedulingError, Source, Who,
};
use jiff::{Timestamp, civil::Date};
use uuid::Uuid;

use crate::guided::{
    Asked, Guided, GuidedError, Next,
    flow::{Booking, Step},
};

impl Guided<'_> {
    /// Books (or moves) and confirms; a time taken meanwhile shows the day's free
    /// times again.
    pub(super) async fn book(
        &self,
        booking: &Booking,
        starts_at: Timestamp,
        staff_id: Option<Uuid>,
        key: &str,
    ) -> Result<Next, GuidedError> {
        let idempotency_key = key.to_owned();
        let request = match booking.moving {
            Some(appointment_id) => Request::Reschedule(RescheduleRequest {
                actor: self.person.actor,
                idempotency_key,
                appointment_id,
                starts_at,
                staff_id,
            }),
            None => Request::Book(BookRequest {
                actor: self.person.actor,
                idempotency_key,
                service_type_id: booking.service_id,
                starts_at,
                staff_id,
                customer_id: None,
                customer_phone: None,
                customer_name: None,
                source: Source::Whatsapp,
                notes: None,
            }),
        };
        let business = self.business;
        Ok(match self.ask(request).await {
            Asked::Got(Outcome::Appointment { appointment }) => {
                let service = business
                    .service(appointment.service_type_id)
                    .map_or(self.words().appointment(), |s| s.name.as_str());
                let when = self
                    .words()
                    .when(appointment.starts_at, &business.time_zone);
                let staff = business
                    .staff_name(appointment.staff_id)
                    .unwrap_or(self.words().the_team());
                let deposit = crate::deposits::awaited(&self.toolbox.pool, &appointment).await?;
                let text = match (booking.moving, appointment.hold_expires_at, deposit) {
                    (Some(_), ..) => self.words().moved(service, &when, staff),
                    (None, Some(until), Some((amount, currency))) => {
                        let until = self.words().when(until, &business.time_zone);
                        let amount = self.words().price(amount, &currency);
                        self.words()
                            .held_for_deposit(service, &when, staff, &amount, &until)
                    }
                    (None, Some(until), None) => {
                        let until = self.words().when(until, &business.time_zone);
                        self.words().held_for_you(service, &when, staff, &until)
                    }
                    (None, None, _) => self.words().booked(service, &when, staff, &business.name),
                };
                Next::Rest { texts: vec![text] }
            }
            Asked::Got(_) => Next::after(self.words().unavailable(), Step::Menu),
            Asked::Refused(
                SchedulingError::SlotTaken { .. } | SchedulingError::NotAvailable { .. },
            ) => Next::show_with(
                Step::Times {
                    booking: booking.clone(),
                    day: self.local_day(starts_at),
                    from: 0,
                },
                self.words().slot_gone(),
            ),
            Asked::Refused(error) => Next::after(self.refusal(&error), Step::Menu),
            Asked::Unavailable => Next::show_with(
                Step::Confirm {
                    booking: booking.clone(),
                    starts_at,
                    staff_id,
                    key: key.to_owned(),
                },
                self.words().unavailable(),
            ),
        })
    }

    /// The free times for the booking's service from `from` to `to` (an appointment being
    /// moved does not block its own times), or words saying why not.
    pub(super) async fn free(
        &self,
        booking: &Booking,
        from: Date,
        to: Date,
    ) -> Result<Vec<FreeSlot>, String> {
        let request = Request::Availability(AvailabilityRequest {
            actor: self.person.actor,
            service_type_id: booking.service_id,
            from,
            to,
            staff_id: None,
            moving: booking.moving,
        });
        match self.ask(request).await {
            Asked::Got(Outcome::Slots { slots }) => Ok(slots
                .into_iter()
                .filter(|s| s.starts_at > self.now)
                .collect()),
            Asked::Got(_) | Asked::Unavailable => Err(self.words().unavailable().into()),
            Asked::Refused(error) => Err(self.refusal(&error)),
        }
    }

    pub(super) async fn upcoming(&self) -> Result<Vec<Appointment>, String> {
        let Who::Customer { customer_id } = self.person.actor.who else {
            return Ok(Vec::new());
        };
        let request = Request::Upcoming(CustomerRequest {
            actor: self.person.actor,
            customer_id,
        });
        match self.ask(request).await {
            Asked::Got(Outcome::Appointments { appointments }) => Ok(appointments
                .into_iter()
                .filter(|a| a.status.is_live())
                .collect()),
            Asked::Got(_) | Asked::Unavailable => Err(self.words().unavailable().into()),
            Asked::Refused(error) => Err(self.refusal(&error)),
        }
    }
}
