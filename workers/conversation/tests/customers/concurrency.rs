//! Duplicates, bursts, replicas and lost turn requests: each message is answered once, in order.

use super::*;

#[tokio::test]
async fn a_duplicate_webhook_gets_one_reply() {
    let fleet = Fleet::start().await;
    fleet
        .model
        .script([ModelReply::text("¡Hola! ¿En qué te ayudo?")]);
    let body = common::text_from(
        CUSTOMER_WA,
        "Ana",
        "wamid.same",
        common::now_seconds(),
        "Hola",
    );
    fleet.post(&body).await;
    fleet.post(&body).await;
    fleet.texts_to(CUSTOMER_WA, 1).await;
    fleet.quiet(CUSTOMER_WA).await;
    assert_eq!(fleet.texts_now(CUSTOMER_WA).len(), 1);
    assert_eq!(fleet.model.requests().len(), 1);
}

#[tokio::test]
async fn two_quick_messages_are_answered_by_one_turn_that_sees_both_in_order() {
    let mut fleet = Fleet::new(&[]).await;
    fleet.start_scheduling().await;
    fleet.start_outbound().await;
    // Both are stored before any turn runs (as when they arrive together).
    let pool = &fleet.shop.db.pool;
    let now = common::now_seconds();
    let first = cita_conversation::intake::apply(
        pool,
        &common::text_from(CUSTOMER_WA, "Ana", "wamid.q1", now, "Hola"),
        None,
    )
    .await
    .unwrap();
    let second = cita_conversation::intake::apply(
        pool,
        &common::text_from(
            CUSTOMER_WA,
            "Ana",
            "wamid.q2",
            now + 1,
            "quiero una cita para barba",
        ),
        None,
    )
    .await
    .unwrap();
    assert_eq!(first.turns, second.turns);
    let publisher = fleet.publisher().await;
    let turns =
        first
            .turns
            .iter()
            .chain(&second.turns)
            .map(|&(organization_id, conversation_id)| {
                cita_shared::contracts::conversation::Turn {
                    organization_id,
                    conversation_id,
                    attempt: 0,
                }
            });
    cita_conversation::intake::request_turns(
        &publisher,
        &fleet.broker.topology,
        turns.collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    fleet
        .model
        .script([ModelReply::text("¡Hola! ¿Para qué día?")]);
    fleet.start_conversation("conversation").await;
    fleet.texts_to(CUSTOMER_WA, 1).await;
    fleet.quiet(CUSTOMER_WA).await;
    let requests = fleet.model.requests();
    assert_eq!(requests.len(), 1, "one turn for both");
    let blocks = requests[0]["messages"][0]["content"].as_array().unwrap();
    let texts: Vec<&str> = blocks.iter().map(|b| b["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Hola", "quiero una cita para barba"]);
    assert_eq!(fleet.texts_now(CUSTOMER_WA).len(), 1);
}

#[tokio::test]
async fn messages_that_arrive_while_a_turn_runs_are_answered_together_by_the_next() {
    let fleet = Fleet::start().await;
    fleet.say(CUSTOMER_WA, "hola").await;
    fleet.texts_to(CUSTOMER_WA, 1).await;
    fleet.model.script([ModelReply::Slow(
        std::time::Duration::from_millis(600),
        Box::new(ModelReply::text("¿Qué servicio buscas?")),
    )]);
    fleet.say(CUSTOMER_WA, "quiero una cita").await;
    fleet
        .model
        .wait_for_requests(2, common::fleet::PATIENCE)
        .await;
    fleet.say(CUSTOMER_WA, "para corte").await;
    fleet.say(CUSTOMER_WA, "mañana").await;
    fleet.texts_to(CUSTOMER_WA, 3).await;
    fleet.settled().await;
    let requests = fleet.model.requests();
    assert_eq!(requests.len(), 3);
    let last = requests[2]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let texts: Vec<&str> = last["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["para corte", "mañana"]);
}

#[tokio::test]
async fn two_replicas_never_run_one_conversation_at_the_same_time() {
    let mut fleet = Fleet::new(&[]).await;
    fleet.start_scheduling().await;
    fleet.start_outbound().await;
    fleet.start_conversation("one").await;
    fleet.start_conversation("two").await;
    // A first exchange, so both replicas are consuming before the burst.
    fleet.say(CUSTOMER_WA, "hola").await;
    fleet.texts_to(CUSTOMER_WA, 1).await;
    let thinking = std::time::Duration::from_millis(300);
    fleet
        .model
        .respond_with(move |_| ModelReply::Slow(thinking, Box::new(ModelReply::text("Anotado."))));
    for n in 0..6 {
        fleet.say(CUSTOMER_WA, &format!("mensaje {n}")).await;
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
    fleet.settled().await;
    let arrivals = fleet.model.arrivals();
    assert!(arrivals.len() >= 3, "the burst spans several turns");
    // The first call (for "hola") was instant; every later one took `thinking`.
    for pair in arrivals[1..].windows(2) {
        assert!(
            pair[1] - pair[0] >= thinking,
            "a call started while another one for the same conversation was running"
        );
    }
    // Every message was shown to the model exactly once, in order.
    let mut seen = Vec::new();
    for request in fleet.model.requests() {
        let last = request["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        for block in last["content"].as_array().unwrap() {
            seen.push(block["text"].as_str().unwrap().to_owned());
        }
    }
    let expected: Vec<String> = std::iter::once("hola".to_owned())
        .chain((0..6).map(|n| format!("mensaje {n}")))
        .collect();
    assert_eq!(seen, expected);
    // One reply per call. "Settled" means every message is answered, i.e. its reply is
    // handed to outbound; the last one may still be on its way to Meta.
    assert_eq!(
        fleet.texts_to(CUSTOMER_WA, arrivals.len()).await.len(),
        arrivals.len()
    );
}

#[tokio::test]
async fn a_message_whose_turn_request_was_lost_is_picked_up_by_the_sweeper() {
    let fleet = Fleet::start().await;
    fleet
        .model
        .script([ModelReply::text("¡Perdón la demora! ¿En qué te ayudo?")]);
    // Stored, but its turn request never published (a crash between the two).
    let body = common::text_from(
        CUSTOMER_WA,
        "Ana",
        "wamid.lost",
        common::now_seconds(),
        "¿Hola?",
    );
    cita_conversation::intake::apply(&fleet.shop.db.pool, &body, None)
        .await
        .unwrap();
    fleet.delivered(CUSTOMER_WA).await;
    assert!(fleet.texts_now(CUSTOMER_WA).is_empty());
    let publisher = fleet.publisher().await;
    let requested = cita_conversation::turns::sweeper::sweep(
        &fleet.shop.db.pool,
        &publisher,
        &fleet.broker.topology,
        std::time::Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(requested, 1);
    assert_eq!(
        fleet.texts_to(CUSTOMER_WA, 1).await,
        ["¡Perdón la demora! ¿En qué te ayudo?"]
    );
}
