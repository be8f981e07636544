//! Where the log goes: for the console, its log pane and a file (never
//! stderr, which would scribble over the screen); for the headless front
//! ends, stderr and the file.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use labdeck_core::config::Config;

/// Console logging: the log pane (tui-logger) and a log file; nothing on
/// stderr, which would scribble over the screen.
pub fn init_console_logging(
    config: &Config,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    // No init_logger: its thread wakes a hundred times a second to move
    // records; the console moves them itself before it draws.
    tui_logger::set_default_level(tui_logger::LevelFilter::Trace);
    let filter = || {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.logging.level))
    };
    let pane = tui_logger::TuiTracingSubscriberLayer.with_filter(filter());
    let path = config.logging.file.clone().or_else(|| {
        directories::ProjectDirs::from("", "", "labdeck")
            .and_then(|d| d.state_dir().map(|s| s.join("labdeck.log")))
    });
    let (file_layer, guard) = file_writer(path.as_deref(), filter());
    let _ = tracing_subscriber::registry()
        .with(pane)
        .with(file_layer)
        .try_init();
    guard
}

/// Logs: warnings and errors on stderr (RUST_LOG overrides), and the
/// configured level to the log file if one is set.
pub fn init_logging(config: &Config) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let stderr_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(stderr_filter);
    let filter = EnvFilter::new(&config.logging.level);
    let (file_layer, guard) = file_writer(config.logging.file.as_deref(), filter);
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    guard
}

/// A layer appending to the log file at `path` (its directory made if
/// needed), and the guard that flushes it; nothing without a path.
fn file_writer<S>(
    path: Option<&std::path::Path>,
    filter: EnvFilter,
) -> (
    Option<Box<dyn tracing_subscriber::Layer<S> + Send + Sync>>,
    Option<tracing_appender::non_blocking::WorkerGuard>,
)
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let Some(path) = path else {
        return (None, None);
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let _ = std::fs::create_dir_all(dir);
    let name = path
        .file_name()
        .map_or_else(|| "labdeck.log".into(), std::ffi::OsStr::to_os_string);
    let (writer, guard) =
        tracing_appender::non_blocking(tracing_appender::rolling::never(dir, name));
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer)
        .with_filter(filter)
        .boxed();
    (Some(layer), Some(guard))
}

pub fn init_stderr_logging(default: &str) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
    None
}
