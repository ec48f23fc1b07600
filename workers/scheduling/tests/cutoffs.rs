//! A service's own change cutoff: customers stop moving and cancelling its appointments
//! at its cutoff rather than the business's, until it follows the business again.

mod common;

use cita_shared::contracts::scheduling::{
    Approval, CancelRequest, Outcome, Reply, Request, SchedulingError, UpsertServiceRequest,
};
use common::Shop;

fn outcome(reply: Reply) -> Result<Outcome, SchedulingError> {
    match reply {
        Reply::Ok(outcome) => Ok(outcome),
        Reply::Error(error) => Err(error),
    }
}

#[tokio::test]
async fn a_service_closes_changes_at_its_own_cutoff_and_can_follow_the_business_again() {
    let shop = Shop::open().await;
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute("UPDATE organizations SET change_cutoff_minutes = 1440", &[])
        .await
        .unwrap();
    let own = |minutes: Option<Option<u32>>, key: &str| {
        Request::UpsertService(UpsertServiceRequest {
            actor: shop.staff(shop.owner),
            idempotency_key: key.into(),
            service_type_id: Some(shop.haircut),
            name: None,
            description: None,
            duration_minutes: None,
            price_minor: None,
            buffer_minutes: None,
            active: None,
            staff_ids: None,
            approval: Some(Approval::Immediate),
            change_cutoff_minutes: minutes,
            deposit: None,
        })
    };
    let too_long = outcome(shop.scheduler.handle(own(Some(Some(10081)), "long")).await);
    assert!(
        matches!(too_long, Err(SchedulingError::InvalidRequest { .. })),
        "{too_long:?}"
    );
    let Ok(Outcome::Service { service }) =
        outcome(shop.scheduler.handle(own(Some(Some(120)), "two")).await)
    else {
        panic!("the service's cutoff was not saved");
    };
    assert_eq!(service.change_cutoff_minutes, Some(120));
    let cancel = |appointment_id, key: &str| {
        Request::Cancel(CancelRequest {
            actor: shop.customer(shop.ana),
            idempotency_key: key.into(),
            appointment_id,
            reason: None,
        })
    };
    // Four hours ahead: inside the business's day, outside the service's two hours.
    let first = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T12:00", "first"))
        .await
        .unwrap();
    let allowed = outcome(
        shop.scheduler
            .handle(cancel(first.id, "cancel-first"))
            .await,
    );
    assert!(allowed.is_ok(), "{allowed:?}");
    let second = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T11:00", "second"))
        .await
        .unwrap();
    shop.set_now("2026-12-07T09:30");
    let refused = outcome(
        shop.scheduler
            .handle(cancel(second.id, "cancel-second"))
            .await,
    );
    assert_eq!(
        refused,
        Err(SchedulingError::TooLate {
            cutoff_minutes: 120
        })
    );
    // An update that leaves the cutoff out keeps it; `null` follows the business again.
    let kept = outcome(shop.scheduler.handle(own(None, "kept")).await);
    assert!(
        matches!(&kept, Ok(Outcome::Service { service }) if service.change_cutoff_minutes == Some(120)),
        "{kept:?}"
    );
    let Ok(Outcome::Service { service }) =
        outcome(shop.scheduler.handle(own(Some(None), "business")).await)
    else {
        panic!("the service did not follow the business");
    };
    assert_eq!(service.change_cutoff_minutes, None);
    let refused = outcome(shop.scheduler.handle(cancel(second.id, "again")).await);
    assert_eq!(
        refused,
        Err(SchedulingError::TooLate {
            cutoff_minutes: 1440
        })
    );
}
