//! The whole fleet as processes: `deploy/run.sh` (what `make run` runs) comes up healthy,
//! the scripted demo books through all five workers and the sandbox, the README's walk
//! through the API logs in and books (`fleet/api.rs`), and `make demo`
//! without arguments chats as the customer; and with the binaries started one by one,
//! killing and restarting any of them between the messages of a conversation loses
//! nothing.
//!
//! The binaries are the workspace's (`cargo test --workspace` builds them all before
//! any test runs). Each fleet has its own database, broker prefix and ports.

#[path = "fleet/api.rs"]
mod api;

use std::{
    collections::HashMap,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use cita_demo::{
    chat::Chat,
    script::{self, Line},
};
use cita_shared::testing::{TestBroker, TestDb, free_port};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn bin_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_cita-demo"))
        .parent()
        .unwrap()
        .to_path_buf();
    for name in [
        "cita-migrate",
        "cita-ingress",
        "cita-scheduling",
        "cita-outbound",
        "cita-reminders",
        "cita-conversation",
        "cita-api",
        "cita-sandbox",
    ] {
        assert!(
            dir.join(name).exists(),
            "{name} is not built in {}: run `cargo build --bins` (cargo test --workspace builds it)",
            dir.display()
        );
    }
    dir
}

fn booking_script() -> Vec<Line> {
    let text = std::fs::read_to_string(root().join("workers/demo/scripts/booking.txt")).unwrap();
    script::parse(&text).unwrap()
}

async fn ready(http: &reqwest::Client, port: u16) -> bool {
    http.get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

async fn all_ready(http: &reqwest::Client, ports: &[u16], within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let mut all = true;
        for port in ports {
            all &= ready(http, *port).await;
        }
        if all {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "not every /readyz of {ports:?} turned green within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn run_comes_up_healthy_and_the_scripted_demo_books_through_all_five_binaries() {
    let bin = bin_dir();
    let db = TestDb::empty().await;
    let broker = TestBroker::new().await;
    // Below the ephemeral range, where connections take their local ports.
    let offset = 1_000 + (std::process::id() % 150) as u16 * 100;
    let port = |p: u16| p + offset;
    let log =
        std::fs::File::create(std::env::temp_dir().join(format!("cita-run-{offset}.log"))).unwrap();
    let mut run = Run(Command::new("bash")
        .arg(root().join("deploy/run.sh"))
        .current_dir(root())
        .env("CITA_BIN_DIR", &bin)
        .env("RUN_PORT_OFFSET", offset.to_string())
        .env("CITA_DATABASE_URL", db.url.expose())
        .env("CITA_AMQP_PREFIX", &broker.prefix)
        .env_remove("CITA_GRAPH_API_BASE")
        .env_remove("CITA_ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        // Its own process group, so the test can stop it as Ctrl-C would.
        .process_group(0)
        .spawn()
        .unwrap());
    let http = cita_demo::http_client();
    let took = all_ready(
        &http,
        &[9101, 9102, 9103, 9104, 9105, 9106].map(port),
        Duration::from_secs(90),
    )
    .await;
    println!(
        "every /readyz green {took:?} after deploy/run.sh started (migrations and seed included)"
    );

    let demo = Command::new(bin.join("cita-demo"))
        .args([
            "--script",
            root()
                .join("workers/demo/scripts/booking.txt")
                .to_str()
                .unwrap(),
        ])
        .args([
            "--ingress",
            &format!("http://127.0.0.1:{}/webhooks/whatsapp", port(8080)),
        ])
        .args(["--sandbox", &format!("http://127.0.0.1:{}", port(9190))])
        .env("CITA_DATABASE_URL", db.url.expose())
        .output()
        .unwrap();
    let printed =
        String::from_utf8_lossy(&demo.stdout).to_string() + &String::from_utf8_lossy(&demo.stderr);
    assert!(demo.status.success(), "{printed}");
    assert!(printed.contains("the booking landed"), "{printed}");

    // The sandbox's status webhooks went through the ingress to the conversation
    // worker: the confirmation ends up read.
    let deadline = Instant::now() + Duration::from_secs(20);
    while db
        .count("SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'read'")
        .await
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "no outbound message was marked read"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    api::walk(
        &http,
        &format!("http://127.0.0.1:{}", port(8081)),
        &format!("http://127.0.0.1:{}", port(9190)),
    )
    .await;

    // `make demo` with no arguments chats as the customer. make has a built-in AS (the
    // assembler, `as`), so the recipe once ran `cita-demo --as as`, which refused to
    // start ("--as \"as\": expected customer, staff or owner"): now only an AS given to
    // make reaches cita-demo, and without one the demo is the customer.
    assert!(!make_demo(&[]).contains("--as"), "{}", make_demo(&[]));
    assert!(make_demo(&["AS=staff"]).contains("--as staff"));
    let mut chat = Command::new(bin.join("cita-demo"))
        // The run's ports (a bare `make demo` finds an unshifted `make run` at the defaults).
        .args([
            "--ingress",
            &format!("http://127.0.0.1:{}/webhooks/whatsapp", port(8080)),
        ])
        .args(["--sandbox", &format!("http://127.0.0.1:{}", port(9190))])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = chat.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    {
        use std::io::Write;
        let mut stdin = chat.stdin.take().unwrap();
        stdin.write_all(b"hola\n").unwrap();
        // Input stays open until the menu has come, as a person's terminal would.
        let mut printed = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !printed.iter().any(|l: &String| l.contains("Agendar cita")) {
            match lines.try_recv() {
                Ok(line) => printed.push(line),
                Err(std::sync::mpsc::TryRecvError::Empty) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(_) => panic!("no menu within 30 s of \"hola\":\n{}", printed.join("\n")),
            }
        }
        assert!(
            printed[0].contains("como cliente"),
            "{}",
            printed.join("\n")
        );
    }
    // Its input ended: it shows what is still on its way, then exits.
    assert!(chat.wait().unwrap().success());

    // Ctrl-C stops everything.
    // (bash's kill: procps' does not take a process group here.)
    let group = run.0.id();
    Command::new("bash")
        .args(["-c", &format!("kill -INT -{group}")])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stopped = false;
    while Instant::now() < deadline && !stopped {
        stopped = run.0.try_wait().unwrap().is_some();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stopped, "deploy/run.sh did not stop within 30 s of Ctrl-C");
    assert!(!ready(&http, port(9101)).await);
}

/// What `make demo` would run with these variables (`make -n` prints the recipe, runs
/// nothing), whatever the test's own environment says.
fn make_demo(variables: &[&str]) -> String {
    let output = Command::new("make")
        .args(["-n", "demo"])
        .args(variables)
        .current_dir(root())
        // Nor an outer make's (`make test AS=…` passes AS down in MAKEFLAGS).
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("AS")
        .env_remove("SCRIPT")
        .env_remove("RUN_PORT_OFFSET")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let recipe = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(recipe.contains("cita-demo"), "{recipe}");
    recipe
}

/// `deploy/run.sh` in its own process group; the whole group is killed if the test
/// fails before stopping it.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let group = self.0.id();
            let _ = Command::new("bash")
                .args(["-c", &format!("kill -KILL -{group}")])
                .status();
        }
        let _ = self.0.wait();
    }
}

/// The fleet's processes, started one by one so that each can be killed and restarted.
struct Fleet {
    bin: PathBuf,
    env: HashMap<String, String>,
    admin: HashMap<&'static str, u16>,
    children: HashMap<&'static str, Child>,
    ingress: u16,
    sandbox: u16,
}

const WORKERS: [&str; 5] = [
    "cita-conversation",
    "cita-scheduling",
    "cita-outbound",
    "cita-ingress",
    "cita-reminders",
];

impl Fleet {
    fn start(&mut self, name: &'static str) {
        let mut command = Command::new(self.bin.join(name));
        command
            .envs(&self.env)
            // Guided mode: the conversation is the same whoever runs the test.
            .env_remove("CITA_ANTHROPIC_API_KEY")
            .env_remove("ANTHROPIC_API_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match name {
            "cita-sandbox" => {
                command.args(["--listen", &format!("127.0.0.1:{}", self.sandbox)]);
                command.args([
                    "--ingress",
                    &format!("http://127.0.0.1:{}/webhooks/whatsapp", self.ingress),
                ]);
            }
            _ => {
                command.env("CITA_ADMIN_ADDR", format!("127.0.0.1:{}", self.admin[name]));
            }
        }
        if name == "cita-ingress" {
            command.env("CITA_LISTEN_ADDR", format!("127.0.0.1:{}", self.ingress));
        }
        self.children.insert(name, command.spawn().unwrap());
    }

    /// SIGKILL: nothing is drained, nothing is acknowledged on the way out.
    fn kill(&mut self, name: &str) {
        let mut child = self.children.remove(name).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for child in self.children.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn killing_and_restarting_any_binary_mid_conversation_loses_nothing() {
    let bin = bin_dir();
    let db = TestDb::empty().await;
    let broker = TestBroker::new().await;
    let env: HashMap<String, String> = [
        ("CITA_DATABASE_URL", db.url.expose().to_string()),
        ("CITA_AMQP_PREFIX", broker.prefix.clone()),
        (
            "CITA_SECRETS_KEY",
            "t1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f".into(),
        ),
        ("CITA_META_APP_SECRET", "fleet-secret".into()),
        ("CITA_META_VERIFY_TOKEN", "fleet-verify".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let sandbox = free_port();
    let mut env = env;
    env.insert(
        "CITA_GRAPH_API_BASE".into(),
        format!("http://127.0.0.1:{sandbox}"),
    );
    let mut fleet = Fleet {
        bin: bin.clone(),
        admin: WORKERS.iter().map(|w| (*w, free_port())).collect(),
        env,
        children: HashMap::new(),
        ingress: free_port(),
        sandbox,
    };
    let migrated = Command::new(bin.join("cita-migrate"))
        .arg("--seed")
        .envs(&fleet.env)
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    let mut set_token = Command::new(bin.join("cita-outbound"))
        .args(["set-token", "barberia-el-centro"])
        .envs(&fleet.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    set_token
        .stdin
        .take()
        .unwrap()
        .write_all(b"sandbox-token")
        .unwrap();
    assert!(set_token.wait().unwrap().success());
    fleet.start("cita-sandbox");
    for worker in WORKERS {
        fleet.start(worker);
    }
    let http = cita_demo::http_client();
    let admin_ports: Vec<u16> = WORKERS.iter().map(|w| fleet.admin[w]).collect();
    all_ready(&http, &admin_ports, Duration::from_secs(60)).await;

    let mut chat = Chat::new(
        format!("http://127.0.0.1:{}/webhooks/whatsapp", fleet.ingress),
        format!("http://127.0.0.1:{sandbox}"),
        "fleet-secret".into(),
        "5215512345678".into(),
        "Cliente Demo".into(),
    );
    let started = jiff::Timestamp::now();
    for (n, part) in script::parts(&booking_script()).iter().enumerate() {
        // Before each message, one binary in turn is killed and started again; the
        // message is posted while it comes back (the ingress must answer to take it).
        let victim = WORKERS[n % WORKERS.len()];
        fleet.kill(victim);
        fleet.start(victim);
        if victim == "cita-ingress" {
            all_ready(&http, &[fleet.admin[victim]], Duration::from_secs(30)).await;
        }
        script::play(&mut chat, part, &mut |line| println!("{line}"))
            .await
            .unwrap_or_else(|error| panic!("after restarting {victim}: {error}"));
    }
    assert!(
        script::landed(db.url.expose(), "5215512345678", started)
            .await
            .unwrap()
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM messages WHERE direction = 'inbound' AND answered_at IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        db.count("SELECT count(*) FROM messages WHERE direction = 'inbound' AND handled_as IS DISTINCT FROM 'guided'").await,
        0
    );
}
