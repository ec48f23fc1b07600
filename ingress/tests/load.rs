//! Many requests at once, and shutdown in the middle of them.

mod common;

use std::sync::Arc;

use cita_shared::http::Drain;
use common::{TestIngress, assert_every_200_landed_once, load};
use hyper::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_signed_requests_all_land() {
    let ingress = Arc::new(TestIngress::start().await);

    let statuses = load(&ingress, 1000, 1000, |_| {}).await;

    assert!(
        statuses.iter().all(|s| *s == Some(StatusCode::OK)),
        "{statuses:?}"
    );
    let queued = ingress.inbound().await;
    assert_eq!(queued.len(), 1000);
    assert_eq!(assert_every_200_landed_once(&statuses, &queued), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_under_load_loses_nothing_answered_200() {
    let ingress = Arc::new(TestIngress::start().await);
    let stopper = ingress.shutdown.clone();

    // Shutdown arrives while 32 senders are mid-flight; requests after it fail to connect.
    let statuses = load(&ingress, 2000, 32, move |answered| {
        if answered == 300 {
            stopper.cancel();
        }
    })
    .await;

    let ingress = Arc::into_inner(ingress).expect("the senders are done");
    let broker_check = common::TestIngress::inbound(&ingress).await;
    let ok = assert_every_200_landed_once(&statuses, &broker_check);
    assert!(
        ok >= 300,
        "the requests before the shutdown were answered: {ok}"
    );
    assert!(
        statuses.iter().any(Option::is_none),
        "requests after the shutdown are refused"
    );
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s, None | Some(StatusCode::OK))),
        "in-flight requests are finished, not failed: {statuses:?}"
    );
    assert_eq!(ingress.task.await.unwrap().unwrap(), Drain::Complete);
}
