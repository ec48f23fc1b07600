//! Rate limits shared by replicas: per recipient and per number, held across two running
//! workers; over the limit means later, never dropped.

mod common;

use std::time::Duration;

use cita_shared::contracts::outbound::Purpose;
use common::{PATIENCE, World};

/// The gaps between consecutive arrivals at the fake, in milliseconds.
fn gaps(world: &World) -> Vec<u128> {
    let sends = world.graph.sends();
    sends
        .windows(2)
        .map(|pair| pair[1].at.duration_since(pair[0].at).as_millis())
        .collect()
}

// Arrival times carry a little loopback jitter; the pace is checked with that margin.
const JITTER_MS: u128 = 40;

#[tokio::test]
async fn one_recipient_is_paced_across_two_workers() {
    let mut world = World::with(&[
        ("CITA_OUTBOUND_PAIR_INTERVAL_MS", "300"),
        ("CITA_OUTBOUND_PAIR_BURST", "1"),
    ])
    .await;
    world.start().await;
    world.start().await;
    let sends: Vec<_> = (0..5)
        .map(|i| world.text(&format!("mensaje {i}")))
        .collect();
    for send in &sends {
        world.publish(send).await;
    }
    for send in &sends {
        world.wait_status(send.command_id, "sent").await;
    }
    let gaps = gaps(&world);
    assert_eq!(gaps.len(), 4);
    assert!(gaps.iter().all(|g| *g + JITTER_MS >= 300), "{gaps:?}");
    world.stop().await;
}

#[tokio::test]
async fn one_number_is_paced_across_two_workers() {
    let mut world = World::with(&[
        ("CITA_OUTBOUND_NUMBER_RATE", "4"),
        ("CITA_OUTBOUND_NUMBER_BURST", "1"),
    ])
    .await;
    world.start().await;
    world.start().await;
    let sends: Vec<_> = (0..6)
        .map(|i| {
            let mut send = world.text("aviso");
            send.to = format!("5215500000{i:03}");
            send.conversation_id = None;
            send.purpose = Purpose::Notification;
            send.message =
                cita_shared::contracts::outbound::Message::Template(common::template("aviso"));
            send
        })
        .collect();
    for send in &sends {
        world.publish(send).await;
    }
    for send in &sends {
        world.wait_status(send.command_id, "sent").await;
    }
    let gaps = gaps(&world);
    assert!(gaps.iter().all(|g| *g + JITTER_MS >= 250), "{gaps:?}");
    world.stop().await;
}

#[tokio::test]
async fn an_organization_limit_overrides_the_default() {
    let mut world = World::with(&[("CITA_OUTBOUND_NUMBER_BURST", "1")]).await;
    let client = world.db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE organizations SET messages_per_second = 5 WHERE id = $1",
            &[&world.organization],
        )
        .await
        .unwrap();
    drop(client);
    world.start().await;
    let sends: Vec<_> = (0..4).map(|i| world.text(&format!("m{i}"))).collect();
    for send in &sends {
        world.publish(send).await;
    }
    for send in &sends {
        world.wait_status(send.command_id, "sent").await;
    }
    let gaps = gaps(&world);
    assert!(gaps.iter().all(|g| *g + JITTER_MS >= 200), "{gaps:?}");
    world.stop().await;
}

#[tokio::test]
async fn a_recipient_over_the_limit_gets_every_message_later() {
    // Turns further away than a worker waits in place (5 s) go back to the broker
    // through the retry tiers, and come back.
    let mut world = World::with(&[
        ("CITA_OUTBOUND_PAIR_INTERVAL_MS", "6000"),
        ("CITA_OUTBOUND_PAIR_BURST", "1"),
    ])
    .await;
    world.start().await;
    let sends: Vec<_> = (0..3).map(|i| world.text(&format!("m{i}"))).collect();
    for send in &sends {
        world.publish(send).await;
    }
    let deadline = tokio::time::Instant::now() + PATIENCE + Duration::from_secs(15);
    for send in &sends {
        while world.row(send.command_id).await.map(|r| r.status) != Some("sent".into()) {
            assert!(tokio::time::Instant::now() < deadline, "not all sent");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(world.graph.sends().len(), 3);
    let gaps = gaps(&world);
    assert!(gaps.iter().all(|g| *g + JITTER_MS >= 6000), "{gaps:?}");
    world.stop().await;
}
