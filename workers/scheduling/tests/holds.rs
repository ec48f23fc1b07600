//! Holds: a customer's booking that waits for the owner takes its time at once, is
//! decided once, and not after its deadline.

mod common;

use cita_shared::contracts::scheduling::{
    Approval, DecideHoldRequest, Request, SchedulingError, SetStatusRequest, Status,
    UpsertServiceRequest,
};
use common::{Shop, appointment, at};
use uuid::Uuid;

/// The shop, asking for approval of customers' bookings, held for `minutes`.
async fn approving(minutes: i32) -> Shop {
    let shop = Shop::open().await;
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE organizations SET approval_required = true, hold_minutes = $1",
            &[&minutes],
        )
        .await
        .unwrap();
    shop
}

/// The owner or a barber booking for Ana.
fn by_staff(
    shop: &Shop,
    staff: Uuid,
    local: &str,
    key: &str,
) -> cita_shared::contracts::scheduling::BookRequest {
    let mut request = shop.booking(shop.staff(staff), local, key);
    request.customer_id = Some(shop.ana);
    request
}

fn decide(shop: &Shop, id: Uuid, approve: bool, reason: Option<&str>, key: &str) -> Request {
    Request::DecideHold(DecideHoldRequest {
        actor: shop.staff(shop.owner),
        idempotency_key: key.into(),
        appointment_id: id,
        approve,
        reason: reason.map(str::to_owned),
    })
}

#[tokio::test]
async fn a_hold_takes_its_time_from_the_first_second() {
    let shop = approving(120).await;
    let held = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "ana"))
        .await
        .unwrap();
    assert_eq!(held.status, Status::Pending);
    assert_eq!(held.hold_expires_at, Some(at("2026-12-07T10:00")));
    // Both barbers are free at 10:00: Beto gets the other, then nobody is left.
    let beto = shop
        .book(shop.booking(shop.customer(shop.beto), "2026-12-07T10:00", "beto"))
        .await
        .unwrap();
    assert_ne!(beto.staff_id, held.staff_id);
    let walk_in = shop
        .book(by_staff(&shop, shop.owner, "2026-12-07T10:00", "owner"))
        .await;
    assert!(
        matches!(walk_in, Err(SchedulingError::SlotTaken { .. })),
        "{walk_in:?}"
    );
    // Nothing downstream hears "booked" before the owner decides.
    assert_eq!(
        shop.events().await,
        ["appointment.held", "appointment.held"]
    );
}

#[tokio::test]
async fn staff_bookings_and_services_that_need_none_are_confirmed_at_once() {
    let shop = approving(120).await;
    let by_staff = shop
        .book(by_staff(&shop, shop.barber, "2026-12-07T11:00", "barber"))
        .await
        .unwrap();
    assert_eq!(
        (by_staff.status, by_staff.hold_expires_at),
        (Status::Confirmed, None)
    );
    let exempt = shop
        .scheduler
        .handle(Request::UpsertService(UpsertServiceRequest {
            actor: shop.staff(shop.owner),
            idempotency_key: "exempt".into(),
            service_type_id: Some(shop.haircut),
            name: None,
            description: None,
            duration_minutes: None,
            price_minor: None,
            buffer_minutes: None,
            active: None,
            staff_ids: None,
            approval: Some(Approval::Immediate),
            change_cutoff_minutes: None,
            deposit: None,
        }))
        .await;
    assert!(matches!(
        exempt,
        cita_shared::contracts::scheduling::Reply::Ok(_)
    ));
    let customer = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T12:00", "ana"))
        .await
        .unwrap();
    assert_eq!(customer.status, Status::Confirmed);
    assert_eq!(
        shop.events().await.last().map(String::as_str),
        Some("appointment.booked")
    );
}

#[tokio::test]
async fn an_approved_hold_is_booked_once() {
    let shop = approving(60).await;
    let mut request = shop.booking(shop.customer(shop.ana), "2026-12-07T15:00", "ana");
    request.staff_id = Some(shop.owner);
    let held = shop.book(request).await.unwrap();
    assert_eq!(held.hold_expires_at, Some(at("2026-12-07T09:00")));
    // The barber decides only holds of their own appointments.
    let Request::DecideHold(mut by_barber) = decide(&shop, held.id, true, None, "barber") else {
        unreachable!()
    };
    by_barber.actor = shop.staff(shop.barber);
    assert_eq!(
        appointment(shop.scheduler.handle(Request::DecideHold(by_barber)).await),
        Err(SchedulingError::Forbidden)
    );
    shop.set_now("2026-12-07T08:30");
    let approved = appointment(
        shop.scheduler
            .handle(decide(&shop, held.id, true, None, "ok"))
            .await,
    )
    .unwrap();
    assert_eq!(approved.status, Status::Confirmed);
    let again = appointment(
        shop.scheduler
            .handle(decide(&shop, held.id, false, None, "again"))
            .await,
    );
    assert_eq!(
        again,
        Err(SchedulingError::AlreadyDecided {
            status: Status::Confirmed
        })
    );
    assert_eq!(
        shop.events().await,
        ["appointment.held", "appointment.booked"]
    );
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM appointments WHERE hold_outcome = 'approved'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_rejected_hold_frees_its_time_and_keeps_the_reason() {
    let shop = approving(120).await;
    let held = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-08T10:00", "ana"))
        .await
        .unwrap();
    let long = "x".repeat(301);
    let too_long = appointment(
        shop.scheduler
            .handle(decide(&shop, held.id, false, Some(&long), "long"))
            .await,
    );
    assert!(
        matches!(too_long, Err(SchedulingError::InvalidRequest { .. })),
        "{too_long:?}"
    );
    let rejected = appointment(
        shop.scheduler
            .handle(decide(
                &shop,
                held.id,
                false,
                Some(" Ese día cerramos "),
                "no",
            ))
            .await,
    )
    .unwrap();
    assert_eq!(rejected.status, Status::Cancelled);
    assert_eq!(
        shop.sql_count(
            "SELECT count(*) FROM appointments WHERE hold_outcome = 'rejected'
             AND cancellation_reason = 'Ese día cerramos'"
        )
        .await,
        1
    );
    assert_eq!(
        shop.events().await,
        ["appointment.held", "appointment.hold_ended"]
    );
    // Its time is free again, for either barber.
    let owner = shop
        .book(by_staff(&shop, shop.owner, "2026-12-08T10:00", "o1"))
        .await
        .unwrap();
    let barber = shop
        .book(by_staff(&shop, shop.owner, "2026-12-08T10:00", "o2"))
        .await
        .unwrap();
    assert_ne!(owner.staff_id, barber.staff_id);
}

#[tokio::test]
async fn a_hold_past_its_deadline_is_refused_even_before_the_clock_frees_it() {
    let shop = approving(30).await;
    let held = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T12:00", "ana"))
        .await
        .unwrap();
    shop.set_now("2026-12-07T08:30");
    let late = appointment(
        shop.scheduler
            .handle(decide(&shop, held.id, true, None, "late"))
            .await,
    );
    assert_eq!(
        late,
        Err(SchedulingError::HoldExpired {
            expired_at: at("2026-12-07T08:30")
        })
    );
    // Confirming by status is approving, with the same deadline.
    let by_status = appointment(
        shop.scheduler
            .handle(Request::SetStatus(SetStatusRequest {
                actor: shop.staff(shop.owner),
                idempotency_key: "status".into(),
                appointment_id: held.id,
                status: Status::Confirmed,
                notes: None,
            }))
            .await,
    );
    assert!(
        matches!(by_status, Err(SchedulingError::HoldExpired { .. })),
        "{by_status:?}"
    );
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM appointments WHERE status = 'pending'")
            .await,
        1
    );
    assert_eq!(shop.events().await, ["appointment.held"]);
}
