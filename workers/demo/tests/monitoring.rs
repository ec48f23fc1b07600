//! The alert rules and the Grafana dashboard in `deploy/monitoring/` name only metrics
//! the binaries serve. The fleet runs as `make run` starts it (`deploy/run.sh`), with a
//! fake Messages API so that one conversation goes through the model, a scheduling
//! request, a handoff and the owner's notice (a label family shows on `/metrics` only
//! once it has a sample); then every admin port's `/metrics` is read, and every metric
//! named in an alert's `expr` or a panel's `targets[].expr` must be among the names there.
//!
//! The binaries are the workspace's (`cargo test --workspace` builds them all before
//! any test runs). The fleet has its own database, broker prefix and ports.

use std::{
    collections::BTreeSet,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

use cita_demo::chat::Chat;
use cita_shared::testing::{FakeModel, ModelReply, TestBroker, TestDb};
use serde_json::json;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The six alerts the rules must have, each with a metric its expression must use.
const ALERTS: [(&str, &str); 6] = [
    ("CitaDeadLetters", "cita_amqp_queue_messages"),
    ("CitaReadyQueueAge", "cita_amqp_delivery_lag_seconds_bucket"),
    ("CitaConsumerAbsent", "cita_amqp_queue_consumers"),
    ("CitaIngress5xx", "cita_ingress_requests_total"),
    (
        "CitaOrganizationsPaused",
        "cita_outbound_organizations_paused",
    ),
    ("CitaAiBudgetExhausted", "cita_conversation_turns_total"),
];

/// Each alert's name and expression.
fn alerts() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("deploy/monitoring/alerts.yaml")).unwrap();
    let rules: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|group| group["rules"].as_sequence().unwrap())
        .map(|rule| {
            assert!(rule["labels"]["severity"].is_string(), "{rule:?}");
            assert!(rule["annotations"]["summary"].is_string(), "{rule:?}");
            (
                rule["alert"]
                    .as_str()
                    .or(rule["record"].as_str())
                    .unwrap()
                    .to_owned(),
                rule["expr"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every panel's query expressions, rows' nested panels included.
fn dashboard_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("deploy/monitoring/dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn walk(panels: &serde_json::Value, into: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                into.push((
                    panel["title"].as_str().unwrap().to_owned(),
                    target["expr"].as_str().unwrap().to_owned(),
                ));
            }
            walk(&panel["panels"], into);
        }
    }
    let mut queries = Vec::new();
    walk(&dashboard["panels"], &mut queries);
    queries
}

/// The metric names in a PromQL expression: identifiers starting with `cita_` or
/// `process_`, outside string literals (label values). Functions, keywords and label
/// names (`sum`, `rate`, `by`, `le`, `queue`) never start so.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut chars = expr.chars().peekable();
    let mut word = String::new();
    let mut flush = |word: &mut String| {
        if word.starts_with("cita_") || word.starts_with("process_") {
            names.insert(word.clone());
        }
        word.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                flush(&mut word);
                let mut escaped = false;
                for inner in chars.by_ref() {
                    match inner {
                        '\\' if c != '`' && !escaped => escaped = true,
                        _ if inner == c && !escaped => break,
                        _ => escaped = false,
                    }
                }
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == ':' => word.push(c),
            _ => flush(&mut word),
        }
    }
    flush(&mut word);
    names
}

/// The series names a `/metrics` page gives Prometheus: every sample's name, and for
/// each `# TYPE` the names its samples take (a counter `x` is stored as `x_total`, a
/// histogram as `x_bucket`, `x_sum` and `x_count`).
fn served_names(page: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in page.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let mut parts = declared.split_whitespace();
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap_or("unknown"));
            let suffixes: &[&str] = match kind {
                "counter" if name.ends_with("_total") => &[""],
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                "summary" => &["", "_sum", "_count"],
                "info" => &["_info"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let name = line.split(['{', ' ']).next().unwrap();
            names.insert(name.to_owned());
        }
    }
    names
}

#[test]
fn metric_names_are_read_from_promql_without_functions_labels_or_strings() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.99, sum by (queue, le) (rate(cita_amqp_delivery_lag_seconds_bucket{queue!~"cita_x.+[.]dead"}[5m]))) > 120
               or absent(process_open_fds{app='cita_y'}) / sum(cita_db_pool_max_connections)"#
        ),
        [
            "cita_amqp_delivery_lag_seconds_bucket",
            "cita_db_pool_max_connections",
            "process_open_fds"
        ]
        .map(String::from)
        .into()
    );
}

#[test]
fn served_names_follow_openmetrics_suffixes() {
    let page = "# HELP cita_a Things.\n# TYPE cita_a counter\ncita_a_total{outcome=\"x\"} 1\n\
                # TYPE cita_h histogram\ncita_h_sum 0.0\n# TYPE cita_g gauge\ncita_g 0\n# EOF\n";
    assert_eq!(
        served_names(page),
        [
            "cita_a_total",
            "cita_h_bucket",
            "cita_h_count",
            "cita_h_sum",
            "cita_g"
        ]
        .map(String::from)
        .into()
    );
}

#[test]
fn the_rules_have_the_six_alerts_each_on_its_metric() {
    let alerts = alerts();
    for (alert, metric) in ALERTS {
        let expr = alerts
            .iter()
            .find(|(name, _)| name == alert)
            .map(|(_, expr)| expr)
            .unwrap_or_else(|| panic!("alerts.yaml has no {alert}"));
        assert!(
            metric_names(expr).contains(metric),
            "{alert} does not use {metric}: {expr}"
        );
    }
    assert!(!dashboard_queries().is_empty());
}

/// Every `/metrics` of the fleet once every `/readyz` is green and one conversation has
/// gone through the model, a tool, a handoff and the owner's notice.
#[tokio::test]
async fn every_metric_the_alerts_and_the_dashboard_name_is_served_by_the_fleet() {
    let mut referenced: BTreeSet<String> = BTreeSet::new();
    for (_, expr) in alerts().iter().chain(&dashboard_queries()) {
        referenced.extend(metric_names(expr));
    }

    let bin = Path::new(env!("CARGO_BIN_EXE_cita-demo"))
        .parent()
        .unwrap()
        .to_path_buf();
    let db = TestDb::empty().await;
    let broker = TestBroker::new().await;
    let model = FakeModel::start().await;
    // One customer turn: look up their appointments (a scheduling request), hand the
    // conversation to a person (an event the reminders worker turns into the owner's
    // notice, which outbound sends), then a last word.
    model.script([
        ModelReply::tool("get_my_appointments", json!({})),
        ModelReply::tool(
            "handoff_to_human",
            json!({"reason": "Quiere hablar con alguien"}),
        ),
        ModelReply::text("En un momento te escribe alguien del equipo."),
    ]);
    // Below the ephemeral range, and 50 off the fleet test's offsets (steps of 100),
    // so that the two never share a port.
    let offset = 1_050 + (std::process::id() % 150) as u16 * 100;
    let port = |p: u16| p + offset;
    let log =
        std::fs::File::create(std::env::temp_dir().join(format!("cita-monitoring-{offset}.log")))
            .unwrap();
    let _run = Run(Command::new("bash")
        .arg(root().join("deploy/run.sh"))
        .current_dir(root())
        .env("CITA_BIN_DIR", &bin)
        .env("RUN_PORT_OFFSET", offset.to_string())
        .env("CITA_DATABASE_URL", db.url.expose())
        .env("CITA_AMQP_PREFIX", &broker.prefix)
        .env("CITA_ANTHROPIC_API_KEY", "test-key")
        .env("CITA_ANTHROPIC_BASE_URL", &model.base)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("CITA_GRAPH_API_BASE")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap());
    let http = cita_demo::http_client();
    let admin = [9101, 9102, 9103, 9104, 9105].map(port);
    let started = Instant::now();
    loop {
        let mut ready = true;
        for port in admin {
            ready &= http
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
        }
        if ready {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "not every /readyz of {admin:?} turned green within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut chat = Chat::new(
        format!("http://127.0.0.1:{}/webhooks/whatsapp", port(8080)),
        format!("http://127.0.0.1:{}", port(9190)),
        cita_demo::app_secret(),
        "5215598765432".into(),
        "Cliente Monitoreo".into(),
    );
    chat.say("Hola, ¿tengo citas?").await.unwrap();
    let calls = model.wait_for_requests(3, Duration::from_secs(30)).await;
    assert_eq!(calls.len(), 3, "the turn reached the model three times");

    // The handoff's notice travels through the outbox, reminders and outbound: read the
    // pages until every name is there, or for a few seconds more.
    let deadline = Instant::now() + Duration::from_secs(15);
    let missing = loop {
        let mut served = BTreeSet::new();
        for port in admin {
            let page = http
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            served.extend(served_names(&page));
        }
        let missing: Vec<&String> = referenced.difference(&served).collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing
                .into_iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        missing.is_empty(),
        "named in deploy/monitoring/ but served on no /metrics: {missing}"
    );
}

/// `deploy/run.sh` in its own process group, killed with it when the test ends.
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
