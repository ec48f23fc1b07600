//! Private PostgreSQL, RabbitMQ and Redis servers with TLS, on free loopback ports, each
//! in a folder of its own. As root each runs as its package's account (PostgreSQL refuses
//! root), as deploy/local-services.sh's private instances do. A server is stopped and its
//! folder removed when its value is dropped, so a failing test leaves nothing running; the
//! machine's own servers are never touched.

use std::{
    fs::File,
    future::Future,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use cita_shared::testing::free_port;

use super::pki::Pki;

pub struct Server {
    pub dir: PathBuf,
    /// The certificates, in `dir`.
    pub pki: Pki,
    child: Option<Child>,
    log: PathBuf,
    /// What stops it cleanly and quickly: PostgreSQL's fast shutdown is SIGINT.
    stop_signal: &'static str,
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        == Some("0")
}

fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `program` run as `account` when we are root, else as ourselves.
fn command_as(account: &str, program: &Path) -> Command {
    if !is_root() {
        return Command::new(program);
    }
    let gid = output("id", &["-g", account]);
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={account}"))
        .arg(format!("--regid={gid}"))
        .arg("--init-groups")
        .arg(program);
    command
}

/// The first of `names` found in `dirs` or on the PATH.
fn find(names: &[&str], dirs: &[PathBuf]) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let searched: Vec<PathBuf> = dirs
        .iter()
        .cloned()
        .chain(std::env::split_paths(&path))
        .collect();
    for name in names {
        for dir in &searched {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("{names:?} not found on the PATH nor in {dirs:?}: install the server's package");
}

impl Server {
    /// A fresh folder for `name`, with certificates.
    fn prepare(name: &str) -> (PathBuf, Pki) {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pki = Pki::create(&dir);
        (dir, pki)
    }

    fn own(dir: &Path, account: &str) {
        if is_root() {
            output(
                "chown",
                &["-R", &format!("{account}:"), dir.to_str().unwrap()],
            );
        }
    }

    fn spawn(dir: PathBuf, pki: Pki, mut command: Command, stop_signal: &'static str) -> Server {
        let log = dir.join("server.log");
        let file = File::create(&log).unwrap();
        let child = command
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
        Server {
            dir,
            pki,
            child: Some(child),
            log,
            stop_signal,
        }
    }

    /// What the server wrote to its log, and any log files in its folder's `log/`.
    pub fn log(&self) -> String {
        let mut text = std::fs::read_to_string(&self.log).unwrap_or_default();
        if let Ok(entries) = std::fs::read_dir(self.dir.join("log")) {
            for entry in entries.flatten() {
                text += &std::fs::read_to_string(entry.path()).unwrap_or_default();
            }
        }
        text
    }

    /// Polls `probe` until it holds; fails, with the log, when the server exits or
    /// `limit` passes.
    pub async fn wait_for<F, Fut>(&mut self, what: &str, limit: Duration, mut probe: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + limit;
        loop {
            if probe().await {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("{what}: the server exited ({status})\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{what} within {limit:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg(format!("-{}", self.stop_signal))
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if matches!(child.try_wait(), Ok(None)) {
                eprintln!(
                    "the server in {} did not stop; killing it",
                    self.dir.display()
                );
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// PostgreSQL with `ssl = on` in its postgresql.conf (so that `ALTER SYSTEM` can turn it
/// off again), trust on loopback for the superuser `postgres`.
pub fn postgres() -> (Server, u16) {
    let account = "postgres";
    let (dir, pki) = Server::prepare("postgres");
    let versions = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
            dirs.sort_by_key(|d| {
                d.parent()
                    .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
                    .unwrap_or(0)
            });
            dirs.reverse();
            dirs
        })
        .unwrap_or_default();
    let initdb = find(&["initdb"], &versions);
    let postgres = initdb.with_file_name("postgres");
    let data = dir.join("data");
    Server::own(&dir, account);
    let initialized = command_as(account, &initdb)
        .args(["-D", data.to_str().unwrap()])
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "-N",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(initialized.status.success(), "initdb: {initialized:?}");
    let conf = format!(
        "\n# tests/tls.rs\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nfsync = off\n",
        pki.cert.display(),
        pki.key.display()
    );
    let mut settings = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
    settings.push_str(&conf);
    std::fs::write(data.join("postgresql.conf"), settings).unwrap();
    Server::own(&dir, account);
    let port = free_port();
    let mut command = command_as(account, &postgres);
    // -k '': no Unix socket, so nothing is written to the system's socket folder.
    command.args([
        "-D",
        data.to_str().unwrap(),
        "-p",
        &port.to_string(),
        "-h",
        "127.0.0.1",
        "-k",
        "",
    ]);
    (Server::spawn(dir, pki, command, "INT"), port)
}

const RABBITMQ_BIN: &str = "/usr/lib/rabbitmq/bin";

/// RabbitMQ with a plain-text listener (returned first) and a TLS one, guest/guest on
/// loopback, no plugins, a node of its own.
pub fn rabbitmq() -> (Server, u16, u16) {
    let account = "rabbitmq";
    let (dir, pki) = Server::prepare("rabbitmq");
    // Debian's /usr/sbin/rabbitmq-server switches to the system node's settings; the
    // real script is in /usr/lib/rabbitmq/bin.
    let server = find(&["rabbitmq-server"], &[RABBITMQ_BIN.into()]);
    let (plain, tls) = (free_port(), free_port());
    for sub in ["mnesia", "log", "conf.d"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(
        dir.join("rabbitmq.conf"),
        format!(
            "listeners.tcp.default = 127.0.0.1:{plain}\n\
             listeners.ssl.default = 127.0.0.1:{tls}\n\
             ssl_options.cacertfile = {}\n\
             ssl_options.certfile = {}\n\
             ssl_options.keyfile = {}\n\
             ssl_options.verify = verify_none\n\
             ssl_options.fail_if_no_peer_cert = false\n",
            pki.ca.display(),
            pki.cert.display(),
            pki.key.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("enabled_plugins"), "[].\n").unwrap();
    std::fs::write(dir.join("rabbitmq-env.conf"), "").unwrap();
    let cookie = dir.join(".erlang.cookie");
    std::fs::write(&cookie, format!("CITATLS{plain}X{tls}")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o400)).unwrap();
    Server::own(&dir, account);
    let mut command = command_as(account, &server);
    command
        .envs(rabbitmq_env(&dir, plain))
        .env("RABBITMQ_DIST_PORT", free_port().to_string())
        .env(
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
            "-kernel inet_dist_use_interface {127,0,0,1}",
        );
    (Server::spawn(dir, pki, command, "TERM"), plain, tls)
}

/// The private node's environment, for the server and rabbitmqctl alike: every file and
/// folder its own, none of the system node's.
fn rabbitmq_env(dir: &Path, port: u16) -> Vec<(String, String)> {
    let at = |name: &str| dir.join(name).display().to_string();
    vec![
        ("HOME".into(), dir.display().to_string()),
        (
            "RABBITMQ_NODENAME".into(),
            format!("cita-tls-{port}@localhost"),
        ),
        ("RABBITMQ_CONF_ENV_FILE".into(), at("rabbitmq-env.conf")),
        ("RABBITMQ_CONFIG_FILE".into(), at("rabbitmq.conf")),
        ("RABBITMQ_CONFIG_FILES".into(), at("conf.d")),
        (
            "RABBITMQ_ADVANCED_CONFIG_FILE".into(),
            at("advanced.config"),
        ),
        (
            "RABBITMQ_ENABLED_PLUGINS_FILE".into(),
            at("enabled_plugins"),
        ),
        ("RABBITMQ_MNESIA_BASE".into(), at("mnesia")),
        ("RABBITMQ_LOG_BASE".into(), at("log")),
        ("ERL_EPMD_ADDRESS".into(), "127.0.0.1".into()),
    ]
}

/// `rabbitmqctl` against the private node listening on `plain`.
pub fn rabbitmqctl(server: &Server, plain: u16, args: &[&str]) -> String {
    let ctl = find(&["rabbitmqctl"], &[RABBITMQ_BIN.into()]);
    let out = command_as("rabbitmq", &ctl)
        .envs(rabbitmq_env(&server.dir, plain))
        .args(["-n", &format!("cita-tls-{plain}@localhost")])
        .args(args)
        .current_dir(&server.dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "rabbitmqctl {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Redis with a plain-text port (returned first) and a TLS one, keeping nothing on disk.
pub fn redis() -> (Server, u16, u16) {
    let account = "redis";
    let (dir, pki) = Server::prepare("redis");
    let redis = find(&["redis-server"], &[]);
    let (plain, tls) = (free_port(), free_port());
    Server::own(&dir, account);
    let mut command = command_as(account, &redis);
    command
        .args(["--bind", "127.0.0.1", "--port", &plain.to_string()])
        .args(["--tls-port", &tls.to_string()])
        .arg("--tls-cert-file")
        .arg(&pki.cert)
        .arg("--tls-key-file")
        .arg(&pki.key)
        .arg("--tls-ca-cert-file")
        .arg(&pki.ca)
        .args(["--tls-auth-clients", "no"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(&dir);
    (Server::spawn(dir, pki, command, "TERM"), plain, tls)
}
