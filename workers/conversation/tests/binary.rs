//! The `cita-conversation` binary: without an Anthropic key it answers in guided mode;
//! with one it answers with the model, never logs the key, and stops cleanly on SIGTERM.

mod common;

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use cita_shared::testing::{ModelReply, free_port};
use common::{CUSTOMER_WA, fleet::Fleet};

#[tokio::test]
async fn without_an_anthropic_key_the_binary_answers_in_guided_mode() {
    let mut fleet = Fleet::new(&[]).await;
    fleet.start_scheduling().await;
    fleet.start_outbound().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cita-conversation"))
        .envs(&fleet.env)
        .env_remove("CITA_ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env("CITA_ADMIN_ADDR", format!("127.0.0.1:{}", free_port()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    fleet.say(CUSTOMER_WA, "Hola").await;
    fleet.settled().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let menu = loop {
        if let Some(sent) = fleet.replies_now(CUSTOMER_WA).into_iter().next() {
            break sent;
        }
        assert!(std::time::Instant::now() < deadline, "no reply");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(menu["type"], "interactive", "{menu:#}");
    assert_eq!(
        menu["interactive"]["action"]["buttons"][0]["reply"]["title"],
        "Agendar cita"
    );
    assert!(fleet.model.requests().is_empty());
}

#[tokio::test]
async fn the_binary_answers_never_logs_the_key_and_stops_on_sigterm() {
    const KEY: &str = "sk-ant-test-5ecr3t-key";
    let mut fleet = Fleet::new(&[("CITA_ANTHROPIC_API_KEY", KEY)]).await;
    fleet.start_scheduling().await;
    fleet.start_outbound().await;
    let child = Command::new(env!("CARGO_BIN_EXE_cita-conversation"))
        .envs(&fleet.env)
        .env("CITA_ADMIN_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    fleet
        .model
        .script([ModelReply::text("¡Hola! ¿En qué te ayudo?")]);
    fleet.say(CUSTOMER_WA, "Hola").await;
    assert_eq!(
        fleet.texts_to(CUSTOMER_WA, 1).await,
        ["¡Hola! ¿En qué te ayudo?"]
    );

    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()),
    )
    .await
    .expect("stops within 20 s")
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("conversation stopped"), "{printed}");
    assert!(!printed.contains(KEY), "the API key was printed");
}
