//! A send Meta accepted but the ledger refuses to record (a database constraint, not an
//! outage) is dead-lettered with the database's own words, once, instead of being
//! retried forever.

mod common;

use cita_shared::{
    amqp::{
        consumer::REASON_HEADER,
        topology::{OUTBOUND_SEND, dead_name},
    },
    testing::{Reply, eventually},
};
use common::{PATIENCE, World};
use lapin::types::AMQPValue;

#[tokio::test]
async fn a_repeated_message_id_is_dead_lettered_with_the_database_words() {
    let mut world = World::new().await;
    // Meta never repeats an id; a sandbox that restarted did (issue 8's note).
    world.graph.script([
        Reply::AcceptAs("wamid.same".into()),
        Reply::AcceptAs("wamid.same".into()),
    ]);
    world.start().await;
    let first = world.text("uno");
    let second = world.text("dos");
    world.publish(&first).await;
    world.wait_status(first.command_id, "sent").await;
    world.publish(&second).await;

    let dead = eventually(PATIENCE, "the second send dead-lettered", || async {
        let dead = world.broker.drain(&dead_name(OUTBOUND_SEND)).await;
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    assert_eq!(dead.len(), 1);
    let headers = dead[0].delivery.properties.headers().clone().unwrap();
    let Some(AMQPValue::LongString(reason)) = headers.inner().get(REASON_HEADER) else {
        panic!("no reason: {headers:?}");
    };
    let reason = reason.to_string();
    assert!(
        reason.contains("wamid.same")
            && reason.contains("duplicate key value violates unique constraint"),
        "{reason}"
    );
    // Called once, not again and again: the lease keeps it from going out twice.
    assert_eq!(world.graph.sends().len(), 2);
    assert_eq!(world.broker.count(OUTBOUND_SEND).await, 0);
    let row = world.row(second.command_id).await.unwrap();
    assert_eq!(row.status, "pending");
    world.stop().await;
}
