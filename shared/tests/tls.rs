//! TLS to the backing services, against private servers that speak TLS with a certificate
//! of a throwaway CA made here (tests/tls/): with `CITA_TLS_CA_FILE` naming that CA,
//! `sslmode=require`, `amqps://` and `rediss://` connect through the project's own connect
//! code and work, and the server saw TLS; without the CA, or with another one,
//! certificate verification refuses the server; and a TLS URL pointed at a plain-text
//! server fails instead of falling back to plain text.
//!
//! One test per server, so that each boots once (RabbitMQ takes seconds).

#[path = "tls/pki.rs"]
mod pki;
#[path = "tls/servers.rs"]
mod servers;

use std::{collections::HashMap, path::Path, process::Command, time::Duration};

use cita_shared::{
    amqp::{Topology, connection, publish_confirmed},
    config::{Component, Settings},
    db,
    error::Chain,
    tls::{Endpoint, Roots},
};
use lapin::{
    BasicProperties, Confirmation, Connection, ConnectionProperties,
    options::{BasicGetOptions, ConfirmSelectOptions, QueueDeclareOptions},
    types::FieldTable,
};
use tokio_postgres::NoTls;

/// The settings a binary would load with `CITA_TLS_CA_FILE` naming `ca`.
fn settings_with_ca(var: &str, url: &str, ca: &Path) -> Settings {
    let env = HashMap::from([
        (var.to_owned(), url.to_owned()),
        ("CITA_TLS_CA_FILE".to_owned(), ca.display().to_string()),
    ]);
    Settings::from_env(Component::Migrate, env).unwrap()
}

/// The other ways to trust the server wrongly: the system's roots only, another CA.
fn wrong_roots(other_ca: &Path) -> [(&'static str, Roots); 2] {
    [
        ("without the CA", Roots::default()),
        ("with another CA", Roots::from_pem_file(other_ca).unwrap()),
    ]
}

fn refused_by_verification(error: &str) -> bool {
    error.contains("invalid peer certificate")
}

#[tokio::test]
async fn postgres_sslmode_require_is_verified_tls_and_never_plain_text() {
    let (mut server, port) = servers::postgres();
    let plain = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    server
        .wait_for(
            "PostgreSQL accepting connections",
            Duration::from_secs(30),
            || async { tokio_postgres::connect(&plain, NoTls).await.is_ok() },
        )
        .await;
    let tls = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=require");
    const SAW_TLS: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

    // With the CA setting: TLS through db::pool, and the server says so.
    for url in [tls.clone(), tls.replace("require", "verify-full")] {
        let settings = settings_with_ca("CITA_DATABASE_URL", &url, &server.pki.ca);
        let pool = db::pool(&settings.database_url, 1).unwrap();
        let client = pool.get().await.unwrap();
        let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);
        let ssl: bool = client.query_one(SAW_TLS, &[]).await.unwrap().get(0);
        assert!(ssl, "{url}: the server saw no TLS");
    }
    // The same server in plain text, when the URL asks for it.
    let pool = db::pool(&Endpoint::new(&plain), 1).unwrap();
    let ssl: bool = pool
        .get()
        .await
        .unwrap()
        .query_one(SAW_TLS, &[])
        .await
        .unwrap()
        .get(0);
    assert!(!ssl);

    // cita-migrate creates a database and migrates it over TLS.
    let migrated = Command::new(env!("CARGO_BIN_EXE_cita-migrate"))
        .env("CITA_DATABASE_URL", tls.replace("/postgres?", "/cita_tls?"))
        .env("CITA_TLS_CA_FILE", &server.pki.ca)
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    let settings = settings_with_ca(
        "CITA_DATABASE_URL",
        &tls.replace("/postgres?", "/cita_tls?"),
        &server.pki.ca,
    );
    let client = db::pool(&settings.database_url, 1)
        .unwrap()
        .get()
        .await
        .unwrap();
    let applied: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied as usize, db::MIGRATIONS.len());
    drop(client);

    // Without the CA, or with another: certificate verification refuses the server.
    for (how, roots) in wrong_roots(&server.pki.other_ca) {
        let pool = db::pool(&Endpoint::new(&tls).with_roots(roots), 1).unwrap();
        let error = pool.get().await.expect_err(how);
        let error = Chain(&error).to_string();
        assert!(refused_by_verification(&error), "{how}: {error}");
    }

    // The server turned to plain text: require is refused, never downgraded.
    let admin = tokio_postgres::connect(&plain, NoTls).await.unwrap();
    tokio::spawn(admin.1);
    // Two statements: ALTER SYSTEM cannot run in the implicit transaction of one.
    for sql in ["ALTER SYSTEM SET ssl = off", "SELECT pg_reload_conf()"] {
        admin.0.batch_execute(sql).await.unwrap();
    }
    server
        .wait_for(
            "ssl = off after the reload",
            Duration::from_secs(10),
            || async {
                let Ok((client, connection)) = tokio_postgres::connect(&plain, NoTls).await else {
                    return false;
                };
                tokio::spawn(connection);
                let shown = client.query_one("SHOW ssl", &[]).await;
                shown.is_ok_and(|row| row.get::<_, String>(0) == "off")
            },
        )
        .await;
    let settings = settings_with_ca("CITA_DATABASE_URL", &tls, &server.pki.ca);
    let pool = db::pool(&settings.database_url, 1).unwrap();
    let error = pool
        .get()
        .await
        .expect_err("TLS against a plain-text server");
    let error = Chain(&error).to_string();
    assert!(error.contains("server does not support TLS"), "{error}");
}

#[tokio::test]
async fn amqps_is_verified_tls_and_never_plain_text() {
    let (mut server, plain_port, tls_port) = servers::rabbitmq();
    let plain = format!("amqp://guest:guest@127.0.0.1:{plain_port}/%2f");
    server
        .wait_for(
            "RabbitMQ accepting AMQP",
            Duration::from_secs(90),
            || async {
                match Connection::connect(&plain, ConnectionProperties::default()).await {
                    Ok(connection) => {
                        let _ = connection.close(200, "ready".into()).await;
                        true
                    }
                    Err(_) => false,
                }
            },
        )
        .await;
    let tls = format!("amqps://guest:guest@127.0.0.1:{tls_port}/%2f?heartbeat=30");
    let topology = Topology::new(format!("tls.{}.", std::process::id()));

    // With the CA setting: connection::connect declares the topology over TLS, and a
    // confirmed publish lands.
    let settings = settings_with_ca("CITA_AMQP_URL", &tls, &server.pki.ca);
    let connection = connection::connect(&settings.amqp_url, "cita-tls-test", &topology)
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    channel
        .queue_declare(
            "tls.smoke".into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let confirmed = publish_confirmed(
        &channel,
        "",
        "tls.smoke",
        b"hola",
        BasicProperties::default(),
    )
    .await
    .unwrap();
    assert_eq!(confirmed, Confirmation::Ack(None));
    let got = channel
        .basic_get("tls.smoke".into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
        .expect("the message is in the queue");
    assert_eq!(got.delivery.data, b"hola");
    // The broker's own view: the open connection came over TLS, to the TLS listener.
    let listed = servers::rabbitmqctl(
        &server,
        plain_port,
        &["list_connections", "--no-table-headers", "port", "ssl"],
    );
    assert!(
        listed.lines().any(|l| l
            .split_whitespace()
            .eq([tls_port.to_string().as_str(), "true"])),
        "{listed}"
    );
    connection.close(200, "bye".into()).await.unwrap();

    // Without the CA, or with another: certificate verification refuses the broker.
    for (how, roots) in wrong_roots(&server.pki.other_ca) {
        let endpoint = Endpoint::new(&tls).with_roots(roots);
        let error = connection::connect(&endpoint, "cita-tls-test", &topology)
            .await
            .expect_err(how);
        let error = Chain(&error).to_string();
        assert!(refused_by_verification(&error), "{how}: {error}");
    }

    // amqps:// at the plain-text listener fails; amqp:// there works (above).
    let at_plain = format!("amqps://guest:guest@127.0.0.1:{plain_port}/%2f");
    let settings = settings_with_ca("CITA_AMQP_URL", &at_plain, &server.pki.ca);
    let error = connection::connect(&settings.amqp_url, "cita-tls-test", &topology)
        .await
        .expect_err("TLS against a plain-text listener");
    assert!(
        !matches!(error, connection::ConnectError::Timeout),
        "{error}"
    );
}

#[tokio::test]
async fn rediss_is_verified_tls_and_never_plain_text() {
    let (mut server, plain_port, tls_port) = servers::redis();
    let plain = format!("redis://127.0.0.1:{plain_port}/0");
    let plain_client = redis::Client::open(plain.as_str()).unwrap();
    server
        .wait_for(
            "Redis accepting connections",
            Duration::from_secs(20),
            || async {
                plain_client
                    .get_multiplexed_async_connection()
                    .await
                    .is_ok()
            },
        )
        .await;
    let tls = format!("rediss://127.0.0.1:{tls_port}/0");

    // With the CA setting: SET and GET through the shared connect.
    let settings = settings_with_ca("CITA_REDIS_URL", &tls, &server.pki.ca);
    let mut redis = cita_shared::redis::connect(&settings.redis_url, Duration::from_secs(5))
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("tls.smoke")
        .arg("hola")
        .query_async(&mut redis)
        .await
        .unwrap();
    let got: String = redis::cmd("GET")
        .arg("tls.smoke")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(got, "hola");
    // The server's own view: a client connected to the port that speaks only TLS.
    let mut watcher = plain_client
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut watcher)
        .await
        .unwrap();
    assert!(
        clients.contains(&format!("laddr=127.0.0.1:{tls_port} ")),
        "{clients}"
    );

    // Without the CA, or with another: certificate verification refuses the server.
    for (how, roots) in wrong_roots(&server.pki.other_ca) {
        let client = cita_shared::redis::client(&Endpoint::new(&tls).with_roots(roots)).unwrap();
        let error = client
            .get_multiplexed_async_connection()
            .await
            .expect_err(how)
            .to_string();
        assert!(refused_by_verification(&error), "{how}: {error}");
    }

    // rediss:// at the plain-text port fails (the server waits for the end of a command
    // line that never comes, and the handshake times out); redis:// there works (above).
    let at_plain = format!("rediss://127.0.0.1:{plain_port}/0");
    let settings = settings_with_ca("CITA_REDIS_URL", &at_plain, &server.pki.ca);
    let client = cita_shared::redis::client(&settings.redis_url).unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        client.get_multiplexed_async_connection(),
    )
    .await
    .expect("an answer, not a hang");
    assert!(result.is_err(), "rediss:// connected to a plain-text port");
}
