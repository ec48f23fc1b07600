//! `deploy/local-services.sh` on this machine, as `make test` and `make run` use it where
//! the configured servers do not answer: with the three URLs pointed at loopback ports
//! where nothing listens, `start` brings up private PostgreSQL, RabbitMQ and Redis
//! instances there, run by an ordinary user, with data in a folder of the test's own; a
//! migrated smoke test passes against all three; `stop` closes the ports again. The
//! servers the rest of the suite uses (the system's, here) keep running with the same
//! process ids and keep answering.
//!
//! `start --private` never installs packages nor uses Docker: a machine without the
//! server packages fails this test with the command that installs them.

use std::{
    collections::{BTreeSet, HashMap},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use cita_shared::{
    config::{Component, Settings},
    db,
    testing::{free_port, pids_named},
};
use lapin::{
    BasicProperties, Connection, ConnectionProperties,
    options::{BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};
use tokio_postgres::NoTls;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn script_text() -> String {
    std::fs::read_to_string(root().join("deploy/local-services.sh")).unwrap()
}

/// The script's defaults are the binaries': it brings servers up where the binaries look.
#[test]
fn the_script_looks_for_the_servers_where_the_binaries_do() {
    let defaults = Settings::from_env(Component::Migrate, HashMap::new()).unwrap();
    let script = script_text();
    for url in [
        defaults.database_url.expose(),
        defaults.amqp_url.expose(),
        defaults.redis_url.expose(),
    ] {
        assert!(
            script.contains(url),
            "deploy/local-services.sh does not default to {url}"
        );
    }
}

/// Private instances on free loopback ports, with their own state folder; stopped and
/// removed when dropped, so that a failing test leaves nothing running.
struct Private {
    state: PathBuf,
    database_url: String,
    amqp_url: String,
    redis_url: String,
    ports: [u16; 3],
}

impl Private {
    fn new() -> Self {
        let state = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("private-services-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state);
        let ports = [free_port(), free_port(), free_port()];
        Private {
            database_url: format!("postgres://postgres@127.0.0.1:{}/cita_smoke", ports[0]),
            amqp_url: format!("amqp://guest:guest@127.0.0.1:{}/%2f?heartbeat=30", ports[1]),
            redis_url: format!("redis://127.0.0.1:{}/0", ports[2]),
            state,
            ports,
        }
    }

    fn script(&self, args: &[&str]) -> Output {
        Command::new("bash")
            .arg(root().join("deploy/local-services.sh"))
            .args(args)
            .env("CITA_SERVICES_DIR", &self.state)
            .env("CITA_DATABASE_URL", &self.database_url)
            .env("CITA_AMQP_URL", &self.amqp_url)
            .env("CITA_REDIS_URL", &self.redis_url)
            .output()
            .unwrap()
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        let stopped = self.script(&["stop"]);
        if !stopped.status.success() {
            eprintln!("{}", printed(&stopped));
        }
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

fn printed(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr)
}

fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).is_ok()
}

fn parent(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The field after the command name (in parentheses) and the state.
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|ppid| ppid.parse().ok())
        .unwrap_or(0)
}

fn uid(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap_or(0)
}

/// The servers running on this machine: every PostgreSQL postmaster (a `postgres`
/// process whose parent is not one: backends come and go with other tests' connections),
/// every Erlang VM and every Redis server.
fn servers() -> BTreeSet<(&'static str, u32)> {
    let postmasters = pids_named("postgres");
    let mut servers: BTreeSet<(&'static str, u32)> = postmasters
        .iter()
        .filter(|pid| !postmasters.contains(&parent(**pid)))
        .map(|pid| ("postgres", *pid))
        .collect();
    for name in ["beam.smp", "redis-server"] {
        servers.extend(pids_named(name).into_iter().map(|pid| (name, pid)));
    }
    servers
}

/// The servers the rest of the suite uses (CITA_*_URL or the defaults) answer queries.
async fn configured_servers_answer() {
    let settings = Settings::load(Component::Migrate).unwrap();
    // Its maintenance database: the configured one may not have been created.
    let mut server: tokio_postgres::Config = settings.database_url.expose().parse().unwrap();
    server.dbname("postgres");
    let (client, connection) = server
        .connect(NoTls)
        .await
        .expect("the configured PostgreSQL answers");
    let driver = tokio::spawn(connection);
    client.simple_query("SELECT 1").await.unwrap();
    drop(client);
    let _ = driver.await;
    let amqp = Connection::connect(settings.amqp_url.expose(), ConnectionProperties::default())
        .await
        .expect("the configured RabbitMQ answers");
    amqp.close(200, "bye".into()).await.unwrap();
    let redis = redis::Client::open(settings.redis_url.expose()).unwrap();
    let mut redis = redis.get_multiplexed_async_connection().await.unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut redis).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn private_instances_come_up_on_free_ports_serve_a_migrated_smoke_test_and_stop() {
    let before = servers();
    let private = Private::new();
    assert!(
        private.ports.iter().all(|port| !answers(*port)),
        "the free ports answer"
    );

    // Up: each server waits until it answers (RabbitMQ until it has booted).
    let started = private.script(&["start", "--private"]);
    assert!(started.status.success(), "{}", printed(&started));
    let during = servers();
    let new: Vec<_> = during.difference(&before).collect();
    let mut kinds: Vec<&str> = new.iter().map(|(name, _)| *name).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["beam.smp", "postgres", "redis-server"],
        "one server of each: {new:?}\n{}",
        printed(&started)
    );
    for (name, pid) in &new {
        assert_ne!(uid(*pid), 0, "the private {name} runs as root");
    }
    assert!(before.is_subset(&during), "a server stopped meanwhile");

    // Once up, `start` again only finds them answering; `status` says whose they are.
    let again = private.script(&["start", "--private"]);
    assert!(again.status.success(), "{}", printed(&again));
    assert_eq!(servers(), during, "{}", printed(&again));
    let status = printed(&private.script(&["status"]));
    for (title, port) in ["PostgreSQL", "RabbitMQ", "Redis"]
        .into_iter()
        .zip(private.ports)
    {
        assert!(
            status.contains(&format!("{title}: private instance on 127.0.0.1:{port}")),
            "{status}"
        );
    }

    // PostgreSQL: cita-migrate creates the database, migrates and seeds it.
    let migrated = Command::new(env!("CARGO_BIN_EXE_cita-migrate"))
        .arg("--seed")
        .env("CITA_DATABASE_URL", &private.database_url)
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{}", printed(&migrated));
    let (client, connection) = tokio_postgres::connect(&private.database_url, NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    let applied: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied as usize, db::MIGRATIONS.len());
    let name: String = client
        .query_one(
            "SELECT name FROM organizations WHERE slug = 'barberia-el-centro'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "Barbería El Centro", "UTF-8 in and out");
    drop(client);
    let _ = driver.await;

    // RabbitMQ: a confirmed publish to a throwaway quorum queue, and back.
    let amqp = Connection::connect(&private.amqp_url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = amqp.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(
            "smoke".into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await
        .unwrap();
    let confirmation = channel
        .basic_publish(
            "".into(),
            "smoke".into(),
            BasicPublishOptions::default(),
            b"hola",
            BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(confirmation, lapin::Confirmation::Ack(None));
    let message = channel
        .basic_get("smoke".into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
        .expect("the message is in the queue");
    assert_eq!(message.delivery.data, b"hola");
    amqp.close(200, "bye".into()).await.unwrap();

    // Redis: SET and GET.
    let redis = redis::Client::open(private.redis_url.as_str()).unwrap();
    let mut redis = redis.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("smoke")
        .arg("hola")
        .query_async(&mut redis)
        .await
        .unwrap();
    let got: String = redis::cmd("GET")
        .arg("smoke")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(got, "hola");
    drop(redis);

    // Down: every private server has exited when `stop` returns.
    let stopped = private.script(&["stop"]);
    assert!(stopped.status.success(), "{}", printed(&stopped));
    for port in private.ports {
        assert!(!answers(port), "port {port} still answers after stop");
    }
    assert_eq!(
        servers(),
        before,
        "the machine's servers are not the ones it had before"
    );
    configured_servers_answer().await;
}
