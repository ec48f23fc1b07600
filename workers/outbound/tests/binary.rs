//! The `cita-outbound` binary: it starts, sends, pauses on a refused token, takes a new
//! token from `set-token` (resuming what was parked), stops on SIGTERM — and no access
//! token ever appears in what it prints, even at debug level.

mod common;

use std::{
    io::Write,
    process::{Command, Stdio},
};

use cita_shared::testing::{Reply, free_port};
use common::{TOKEN, World};

#[test]
fn a_missing_secrets_key_stops_the_binary_with_one_line_naming_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_cita-outbound"))
        .env_remove("CITA_SECRETS_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "cita-outbound: missing required setting CITA_SECRETS_KEY\n"
    );
}

#[tokio::test]
async fn the_binary_sends_pauses_resumes_and_never_logs_a_token() {
    const NEW_TOKEN: &str = "EAAG-rotated-token-9f8e7d";
    let world = World::new().await;
    let admin_port = free_port();
    let env = |command: &mut Command| {
        command
            .envs(&world.env)
            .env("CITA_ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    };
    let mut service = Command::new(env!("CARGO_BIN_EXE_cita-outbound"));
    env(&mut service);
    let service = service.spawn().unwrap();

    world.graph.script([Reply::Error {
        status: 500,
        code: 1,
    }]);
    let first = world.text("hola");
    world.publish(&first).await;
    world.wait_status(first.command_id, "sent").await;

    world.graph.script([Reply::Error {
        status: 401,
        code: 190,
    }]);
    let refused = world.text("token vencido");
    world.publish(&refused).await;
    world.wait_status(refused.command_id, "paused").await;

    let mut set_token = Command::new(env!("CARGO_BIN_EXE_cita-outbound"));
    env(&mut set_token);
    set_token
        .args(["set-token", "barberia"])
        .stdin(Stdio::piped());
    let mut cli = set_token.spawn().unwrap();
    cli.stdin
        .take()
        .unwrap()
        .write_all(format!("{NEW_TOKEN}\n").as_bytes())
        .unwrap();
    let cli = cli.wait_with_output().unwrap();
    let cli_out =
        String::from_utf8_lossy(&cli.stdout).to_string() + &String::from_utf8_lossy(&cli.stderr);
    assert!(cli.status.success(), "{cli_out}");
    assert!(cli_out.contains("1 parked sends resumed"), "{cli_out}");
    world.wait_status(refused.command_id, "sent").await;
    let last = world.graph.sends().pop().unwrap();
    assert_eq!(
        last.authorization.as_deref(),
        Some(&*format!("Bearer {NEW_TOKEN}"))
    );

    let status = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || service.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("sent"), "debug logs were captured: {logs}");
    assert!(logs.contains("190"), "the refusal is logged: {logs}");
    for secret in [TOKEN, NEW_TOKEN] {
        assert!(!logs.contains(secret), "a token leaked into the logs");
        assert!(
            !cli_out.contains(secret),
            "a token leaked into set-token's output"
        );
    }
}
