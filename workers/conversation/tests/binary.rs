//! The `cita-conversation` binary: without an Anthropic key it stops with one line naming
//! it; with one it answers, never logs the key, and stops cleanly on SIGTERM.

mod common;

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use cita_shared::testing::{ModelReply, free_port};
use common::{CUSTOMER_WA, fleet::Fleet};

#[test]
fn a_missing_anthropic_key_stops_the_binary_with_one_line_naming_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_cita-conversation"))
        .env_remove("CITA_ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "cita-conversation: missing required setting CITA_ANTHROPIC_API_KEY\n"
    );
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
