//! The configuration's rules, from defaults to the README's table.

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_point_at_the_local_services() {
    let s = Settings::from_env(Component::Ingress, env(&[])).unwrap();
    assert_eq!(
        s.database_url.expose(),
        "postgres://postgres@127.0.0.1:5432/cita"
    );
    assert!(
        s.amqp_url
            .expose()
            .starts_with("amqp://guest:guest@127.0.0.1:5672/")
    );
    assert_eq!(s.amqp_prefix, "");
    assert_eq!(s.listen_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(s.admin_addr.to_string(), "127.0.0.1:9101");
    assert_eq!(s.max_body_bytes, 4 * 1024 * 1024);
    assert_eq!(s.publish_timeout, Duration::from_secs(5));
    assert_eq!(s.log_format, LogFormat::Text);
    assert_eq!(s.prefetch, 16);
    assert_eq!(s.outbound.graph_api_base, "https://graph.facebook.com");
    assert_eq!(s.outbound.graph_api_version, "v23.0");
    assert_eq!(s.outbound.number_rate, 80);
    assert_eq!(s.outbound.pair_interval, Duration::from_secs(6));
}

#[test]
fn outbound_settings_are_validated() {
    let s = Settings::from_env(
        Component::Outbound,
        env(&[
            ("CITA_GRAPH_API_BASE", "http://127.0.0.1:9999/"),
            ("CITA_GRAPH_API_VERSION", "v24.0"),
            ("CITA_OUTBOUND_NUMBER_RATE", "20"),
        ]),
    )
    .unwrap();
    assert_eq!(s.outbound.graph_api_base, "http://127.0.0.1:9999");
    assert_eq!(s.outbound.number_rate, 20);
    assert_eq!(s.prefetch, 256, "outbound keeps many sends in flight");
    assert_eq!(s.admin_addr.to_string(), "127.0.0.1:9104");
    for (var, value) in [
        ("CITA_GRAPH_API_BASE", "graph.facebook.com"),
        ("CITA_GRAPH_API_VERSION", "23"),
        ("CITA_OUTBOUND_PAIR_BURST", "0"),
    ] {
        let err = Settings::from_env(Component::Outbound, env(&[(var, value)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(var), "{err}");
    }
}

#[test]
fn the_keyring_is_required_and_checked_without_echoing_it() {
    let s = Settings::from_env(Component::Outbound, env(&[])).unwrap();
    assert_eq!(
        s.require_keyring().unwrap_err().to_string(),
        "missing required setting CITA_SECRETS_KEY"
    );
    let s = Settings::from_env(
        Component::Outbound,
        env(&[("CITA_SECRETS_KEY", "k1:deadbeef")]),
    )
    .unwrap();
    let err = s.require_keyring().unwrap_err().to_string();
    assert!(
        err.contains("CITA_SECRETS_KEY") && !err.contains("deadbeef"),
        "{err}"
    );
    let key = format!("k1:{}", "ab".repeat(32));
    let s = Settings::from_env(Component::Outbound, env(&[("CITA_SECRETS_KEY", &key)])).unwrap();
    assert_eq!(s.require_keyring().unwrap().current_key_id(), "k1");
}

#[test]
fn environment_overrides_the_file_which_overrides_defaults() {
    let dir = std::env::temp_dir().join(format!("cita-config-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cita.toml");
    std::fs::write(
        &file,
        "amqp_prefix = \"from-file.\"\nmax_body_bytes = 1000\n",
    )
    .unwrap();
    let s = Settings::from_env(
        Component::Ingress,
        env(&[
            ("CITA_CONFIG_FILE", file.to_str().unwrap()),
            ("CITA_MAX_BODY_BYTES", "2000"),
            ("CITA_LOG_FORMAT", "json"),
        ]),
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(s.amqp_prefix, "from-file.");
    assert_eq!(s.max_body_bytes, 2000);
    assert_eq!(s.log_format, LogFormat::Json);
}

#[test]
fn app_secrets_are_a_comma_separated_list() {
    let s = Settings::from_env(
        Component::Ingress,
        env(&[("CITA_META_APP_SECRET", "old, new,")]),
    )
    .unwrap();
    let secrets: Vec<&str> = s
        .require_meta_app_secrets()
        .unwrap()
        .iter()
        .map(Secret::expose)
        .collect();
    assert_eq!(secrets, ["old", "new"]);
}

#[test]
fn a_missing_secret_is_named_in_one_line() {
    let s =
        Settings::from_env(Component::Ingress, env(&[("CITA_META_APP_SECRET", " , ")])).unwrap();
    let err = s.require_meta_app_secrets().unwrap_err().to_string();
    assert_eq!(err, "missing required setting CITA_META_APP_SECRET");
    let err = s.require_meta_verify_token().unwrap_err().to_string();
    assert_eq!(err, "missing required setting CITA_META_VERIFY_TOKEN");
}

#[test]
fn invalid_values_are_refused_without_echoing_secrets() {
    let err = Settings::from_env(
        Component::Ingress,
        env(&[("CITA_AMQP_URL", "http://user:topsecret@broker")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("CITA_AMQP_URL"), "{err}");
    assert!(!err.contains("topsecret"), "{err}");

    let err = Settings::from_env(
        Component::Ingress,
        env(&[("CITA_LISTEN_ADDR", "localhost")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("CITA_LISTEN_ADDR"), "{err}");

    let err = Settings::from_env(Component::Ingress, env(&[("CITA_AMQP_PREFIX", "a b")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("CITA_AMQP_PREFIX"), "{err}");
}

#[test]
fn the_anthropic_key_falls_back_to_the_sdk_variable() {
    let none = Settings::from_env(Component::Conversation, env(&[])).unwrap();
    assert!(none.conversation.anthropic_api_key.is_none());
    assert_eq!(none.conversation.model, "claude-sonnet-5-5");
    assert_eq!(none.admin_addr.port(), 9103);
    let sdk = Settings::from_env(
        Component::Conversation,
        env(&[("ANTHROPIC_API_KEY", "sk-sdk")]),
    )
    .unwrap();
    assert_eq!(
        sdk.conversation.anthropic_api_key.unwrap().expose(),
        "sk-sdk"
    );
    let both = Settings::from_env(
        Component::Conversation,
        env(&[
            ("ANTHROPIC_API_KEY", "sk-sdk"),
            ("CITA_ANTHROPIC_API_KEY", "sk-cita"),
            ("CITA_AI_DAILY_BUDGET_USD", "0.25"),
            ("CITA_ANTHROPIC_BASE_URL", "http://127.0.0.1:9999/"),
        ]),
    )
    .unwrap();
    assert_eq!(
        both.conversation.anthropic_api_key.unwrap().expose(),
        "sk-cita"
    );
    assert_eq!(both.conversation.daily_budget_micro_usd, 250_000);
    assert_eq!(
        both.conversation.anthropic_base_url,
        "http://127.0.0.1:9999"
    );
    let err = Settings::from_env(
        Component::Conversation,
        env(&[("CITA_AI_MAX_ITERATIONS", "0")]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("CITA_AI_MAX_ITERATIONS"), "{err}");
}

#[test]
fn the_readme_documents_exactly_the_variables_the_binaries_read() {
    let readme = include_str!("../../../README.md");
    let mut documented: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|name| name.starts_with("CITA_"))
        .collect();
    documented.sort_unstable();
    let mut read = VARIABLES.to_vec();
    read.sort_unstable();
    assert_eq!(documented, read);
}

#[test]
fn each_binary_checks_only_the_sections_it_reads() {
    let bad_ai = env(&[("CITA_AI_MAX_ITERATIONS", "0")]);
    assert!(Settings::from_env(Component::Ingress, bad_ai.clone()).is_ok());
    assert!(Settings::from_env(Component::Outbound, bad_ai.clone()).is_ok());
    let err = Settings::from_env(Component::Conversation, bad_ai)
        .unwrap_err()
        .to_string();
    assert!(err.contains("CITA_AI_MAX_ITERATIONS"), "{err}");
    let bad_graph = env(&[("CITA_GRAPH_API_VERSION", "23")]);
    assert!(Settings::from_env(Component::Scheduling, bad_graph.clone()).is_ok());
    assert!(Settings::from_env(Component::Outbound, bad_graph).is_err());
}

#[test]
fn a_mistyped_variable_is_warned_about_with_the_name_meant() {
    let s = Settings::from_env(
        Component::Ingress,
        env(&[("CITA_META_APP_SECRETS", "x"), ("CITA_LOG_FORMAT", "json")]),
    )
    .unwrap();
    assert_eq!(
        s.warnings,
        ["CITA_META_APP_SECRETS is not a setting; did you mean CITA_META_APP_SECRET?"]
    );
}

#[test]
fn the_ca_file_is_checked_at_start_and_named_when_unusable() {
    let dir = std::env::temp_dir().join(format!("cita-ca-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.pem");
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let good = dir.join("ca.pem");
    let ca = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap();
    std::fs::write(&good, ca.pem()).unwrap();
    let load = |path: &std::path::Path| {
        Settings::from_env(
            Component::Scheduling,
            env(&[("CITA_TLS_CA_FILE", path.to_str().unwrap())]),
        )
    };
    let errors = [
        load(&missing).unwrap_err().to_string(),
        load(&empty).unwrap_err().to_string(),
    ];
    let loaded = load(&good);
    std::fs::remove_dir_all(&dir).unwrap();
    for err in &errors {
        assert!(
            err.starts_with("invalid setting CITA_TLS_CA_FILE: "),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
    assert!(errors[0].contains("No such file"), "{}", errors[0]);
    assert!(
        errors[1].contains("holds no PEM certificate"),
        "{}",
        errors[1]
    );
    let s = loaded.unwrap();
    for endpoint in [&s.database_url, &s.amqp_url, &s.redis_url] {
        assert!(endpoint.roots().extra_pem().is_some(), "{endpoint:?}");
    }
    let unset = Settings::from_env(Component::Scheduling, env(&[])).unwrap();
    assert!(unset.amqp_url.roots().extra_pem().is_none());
}

#[test]
fn a_tls_setting_cita_cannot_honour_is_refused_at_start() {
    let err = Settings::from_env(
        Component::Migrate,
        env(&[(
            "CITA_DATABASE_URL",
            "postgres://cita:topsecret@db/cita?sslmode=verify-ca",
        )]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("CITA_DATABASE_URL") && err.contains("verify-ca"),
        "{err}"
    );
    assert!(!err.contains("topsecret"), "{err}");
    let err = Settings::from_env(
        Component::Scheduling,
        env(&[("CITA_REDIS_URL", "rediss://cache:6380/0#insecure")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("CITA_REDIS_URL"), "{err}");
    for mode in ["disable", "prefer", "require", "verify-full"] {
        let url = format!("postgres://cita@db/cita?sslmode={mode}");
        assert!(
            Settings::from_env(Component::Migrate, env(&[("CITA_DATABASE_URL", &url)])).is_ok(),
            "{mode}"
        );
    }
}

#[test]
fn the_api_serves_beside_the_ingress_and_needs_its_token_keys() {
    let s = Settings::from_env(Component::Api, env(&[])).unwrap();
    assert_eq!(s.listen_addr.to_string(), "127.0.0.1:8081");
    assert_eq!(s.admin_addr.to_string(), "127.0.0.1:9106");
    assert_eq!(s.api.database_role, "cita_api");
    let missing = s.api.require_token_keys().unwrap_err().to_string();
    assert_eq!(missing, "missing required setting CITA_API_TOKEN_KEYS");

    let two = format!("new:{},old:{}", "ab".repeat(32), "cd".repeat(32));
    let s = Settings::from_env(Component::Api, env(&[("CITA_API_TOKEN_KEYS", &two)])).unwrap();
    let keys = s.api.require_token_keys().unwrap();
    assert_eq!(
        keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        ["new", "old"]
    );
    assert_eq!(keys[0].key, [0xab; 32]);

    for bad in [
        "k1:abcd".to_string(),
        format!("k1{}", "ab".repeat(32)),
        format!("k1:{0},k1:{0}", "ab".repeat(32)),
    ] {
        let error = Settings::from_env(Component::Api, env(&[("CITA_API_TOKEN_KEYS", &bad)]))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("invalid setting CITA_API_TOKEN_KEYS"),
            "{error}"
        );
    }
    // Only the API reads them: a bad value does not stop the ingress.
    assert!(Settings::from_env(Component::Ingress, env(&[("CITA_API_TOKEN_KEYS", "x")])).is_ok());
}
