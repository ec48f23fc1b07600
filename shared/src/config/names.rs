//! The names of the settings: every variable the binaries read, and the nearest of them
//! to a name nobody reads (a typo would otherwise be silently ignored).

/// Every `CITA_*` variable the binaries read (besides `CITA_CONFIG_FILE`), for checks of
/// deployment files and of README's table; one per field of the sources below.
pub const VARIABLES: &[&str] = &[
    "CITA_ADMIN_ADDR",
    "CITA_AI_APOLOGY_AFTER_MS",
    "CITA_AI_ATTEMPTS",
    "CITA_AI_CALL_TIMEOUT_MS",
    "CITA_AI_COOLDOWN_SECONDS",
    "CITA_AI_DAILY_BUDGET_USD",
    "CITA_AI_MAX_ITERATIONS",
    "CITA_AI_MAX_TOKENS",
    "CITA_AMQP_PREFIX",
    "CITA_API_DATABASE_ROLE",
    "CITA_API_RPC_TIMEOUT_MS",
    "CITA_API_SESSION_REQUESTS_PER_MINUTE",
    "CITA_API_TOKEN_KEYS",
    "CITA_AMQP_URL",
    "CITA_ANTHROPIC_API_KEY",
    "CITA_ANTHROPIC_BASE_URL",
    "CITA_ANTHROPIC_MODEL",
    "CITA_ANTHROPIC_PRICES",
    "CITA_DATABASE_POOL_SIZE",
    "CITA_DATABASE_URL",
    "CITA_DEDUPE_RETENTION_HOURS",
    "CITA_FLOOD_MESSAGES_PER_MINUTE",
    "CITA_GRAPH_API_BASE",
    "CITA_GRAPH_API_VERSION",
    "CITA_GUIDED_IDLE_MINUTES",
    "CITA_GRAPH_TIMEOUT_MS",
    "CITA_LISTEN_ADDR",
    "CITA_LOG_FORMAT",
    "CITA_MAX_BODY_BYTES",
    "CITA_MERCADOPAGO_API_BASE",
    "CITA_MERCADOPAGO_NOTIFICATION_URL",
    "CITA_MERCADOPAGO_SIGNATURE_TOLERANCE_SECS",
    "CITA_MERCADOPAGO_WEBHOOK_SECRET",
    "CITA_META_APP_SECRET",
    "CITA_META_VERIFY_TOKEN",
    "CITA_NOTIFICATION_RETENTION_HOURS",
    "CITA_OUTBOUND_MAX_ATTEMPTS",
    "CITA_OUTBOX_RETENTION_HOURS",
    "CITA_OUTBOUND_NUMBER_BURST",
    "CITA_OUTBOUND_NUMBER_RATE",
    "CITA_OUTBOUND_PAIR_BURST",
    "CITA_OUTBOUND_PAIR_INTERVAL_MS",
    "CITA_PREFETCH",
    "CITA_PUBLISH_TIMEOUT_MS",
    "CITA_REDIS_URL",
    "CITA_REJECTED_RETENTION_HOURS",
    "CITA_SECRETS_KEY",
    "CITA_SHUTDOWN_TIMEOUT_MS",
    "CITA_TLS_CA_FILE",
    "CITA_TURN_CONCURRENCY",
];

/// The known variable nearest to `unknown` (a `CITA_*` name nobody reads), if one is
/// close enough to be the intended one.
pub fn nearest(unknown: &str) -> Option<&'static str> {
    VARIABLES
        .iter()
        .copied()
        .chain(["CITA_CONFIG_FILE"])
        .map(|known| (distance(unknown, known), known))
        .filter(|(d, known)| *d <= (known.len() / 4).max(2))
        .min()
        .map(|(_, known)| known)
}

/// Levenshtein distance over bytes (the names are ASCII).
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// Warnings for `CITA_*` variables in `env` that no binary reads.
pub fn unknown_variables<'a>(env: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut warnings: Vec<String> = env
        .into_iter()
        .filter(|name| name.starts_with("CITA_"))
        .filter(|name| *name != "CITA_CONFIG_FILE" && !VARIABLES.contains(&name.as_str()))
        .map(|name| match nearest(name) {
            Some(known) => format!("{name} is not a setting; did you mean {known}?"),
            None => format!("{name} is not a setting; it is ignored"),
        })
        .collect();
    warnings.sort();
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_variable_is_matched_to_the_one_meant() {
        assert_eq!(nearest("CITA_DATABASE_ULR"), Some("CITA_DATABASE_URL"));
        assert_eq!(nearest("CITA_AMQP_PREFX"), Some("CITA_AMQP_PREFIX"));
        assert_eq!(nearest("CITA_SOMETHING_ELSE_ENTIRELY"), None);
        let env = [
            "CITA_REDIS_ULR".to_string(),
            "CITA_REDIS_URL".to_string(),
            "HOME".to_string(),
        ];
        assert_eq!(
            unknown_variables(&env),
            ["CITA_REDIS_ULR is not a setting; did you mean CITA_REDIS_URL?"]
        );
    }
}
