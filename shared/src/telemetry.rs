//! Logging: readable lines locally, one JSON object per line with `CITA_LOG_FORMAT=json`.
//! The filter comes from `RUST_LOG` (default `info,lapin=warn`: lapin logs every
//! reconnect attempt at info).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,lapin=warn"));
    // Colours only on a terminal: piped (`make run` prefixes each process's lines, log
    // collectors) they are escape codes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    // A second init (tests start several servers in one process) keeps the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            // The span carries the work's trace id and queue (see `trace`).
            .with_current_span(true)
            .try_init(),
    };
}
