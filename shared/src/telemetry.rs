//! Logging: readable lines locally, one JSON object per line with `CITA_LOG_FORMAT=json`.
//! The filter comes from `RUST_LOG` (default `info,lapin=warn`: lapin logs every
//! reconnect attempt at info).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    init_to(format, std::io::stdout, std::io::stdout().is_terminal());
}

/// For a command whose standard output is its answer: the log goes to standard error.
pub fn init_to_stderr(format: LogFormat) {
    init_to(format, std::io::stderr, std::io::stderr().is_terminal());
}

fn init_to<W>(format: LogFormat, writer: W, terminal: bool)
where
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,lapin=warn"));
    // Colours only on a terminal: piped (`make run` prefixes each process's lines, log
    // collectors) they are escape codes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .with_writer(writer);
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
