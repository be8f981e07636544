//! labdeck's command line.

mod consoles;
mod logging;
mod port_args;
mod sim_args;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use labdeck::headless::{self, ElectrometerOptions, OutputOptions, SimOptions};
use labdeck::tui::settings;
use labdeck_core::config::Config;
use labdeck_core::sim::turbovac::{Profile, PumpConfig, TurbovacSimSpec};
use logging::{init_logging, init_stderr_logging};
use port_args::{Rfc2217Args, SniffArgs};
use sim_args::SimCommand;

/// A terminal console for laboratory instruments: serial and TCP devices,
/// device simulators, connection managers with recovery, an INDI server
/// and client.
///
/// Without a subcommand, labdeck opens the console (`run`). Configuration
/// comes from --config, else ./labdeck.toml, else
/// $XDG_CONFIG_HOME/labdeck/config.toml, else the embedded demo (a simulated
/// TURBOVAC pump on a virtual serial port and a simulated Keithley 6517B
/// electrometer on a loopback TCP port, both served to INDI clients on
/// 127.0.0.1:7624). In the console, ? lists every key. The options of
/// `run` work without it: `labdeck --theme light`.
///
/// To keep the lab running when the terminal goes: `labdeck serve --listen`
/// runs it as a daemon, `labdeck attach` opens this console on it (as many
/// as wanted, one in control), `labdeck ctl COMMAND` talks to it from
/// scripts.
#[derive(Debug, Parser)]
#[command(
    name = "labdeck",
    version,
    about,
    long_about,
    max_term_width = 100,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open the terminal console (the default).
    Run(RunArgs),
    /// Run headless: print events on stdout, read commands on stdin
    /// ('help' lists them). Ctrl-C stops cleanly.
    Serve(ServeArgs),
    /// Run one device simulator alone, for other programs to talk to.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Sit between another program and a port: open the real DEVICE, give
    /// the program a pty (first stdout line: its path) and relay every byte
    /// both ways unchanged, printing what crosses (decoded with --decode)
    /// and the line settings the program makes, which are applied to the
    /// device.
    Sniff(SniffArgs),
    /// Serve a serial DEVICE over RFC 2217 (telnet COM-PORT-OPTION) on
    /// 127.0.0.1, for pyserial's rfc2217://HOST:PORT and other clients:
    /// one client at a time, its baud rate, data bits, parity, stop bits
    /// and flow control applied to the device. First stdout line: HOST:PORT.
    Rfc2217(Rfc2217Args),
    /// Play a recording (`--record`) in the console as if live: the lab's
    /// recorded states and events at their recorded pace, read-only.
    /// `replay pause|resume|speed N|seek SECONDS|status` in the palette (:)
    /// steers it.
    Replay(ReplayArgs),
    /// Open the console on a running daemon (`labdeck serve --listen`):
    /// every pane, key and command as with a lab of its own. Quitting (or
    /// `:detach`, or a dropped SSH session) only detaches: the daemon, its
    /// links, simulators and tasks run on.
    Attach(AttachArgs),
    /// Send one line of the command language to a running daemon
    /// (`labdeck serve --listen`) and print its reply; exits 1 if the
    /// daemon refused it. `labdeck ctl clients` lists who is attached.
    Ctl {
        #[command(flatten)]
        daemon: DaemonArgs,
        /// The command line, as typed at `serve`'s stdin or the palette.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Whether a daemon serves a configuration, and who is attached.
    Status {
        #[command(flatten)]
        daemon: DaemonArgs,
    },
    /// Validate a configuration and print a one-screen summary.
    Check {
        /// Configuration file (default: ./labdeck.toml, the XDG config dir, or the demo).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Args, Default)]
struct RunArgs {
    /// Configuration file (default: ./labdeck.toml, the XDG config dir, or the demo).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    console: ConsoleArgs,
    /// Queue the tasks and jobs of this method file (TOML [[task]] and
    /// [[job]] lists) at start.
    #[arg(long, value_name = "FILE")]
    method: Option<PathBuf>,
    /// Where tasks record their CSV and sidecar files (overrides [tasks] data-dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    indi: IndiArgs,
    #[command(flatten)]
    record: RecordArgs,
}

/// How the console looks and what it may do (`run` and `attach`).
#[derive(Debug, Args, Default, Clone)]
struct ConsoleArgs {
    /// Colour theme: default, light, high-contrast, mono, or a file in the config dir's themes/.
    #[arg(long, value_name = "NAME")]
    theme: Option<String>,
    /// Enable the mouse (click to focus a pane, wheel to scroll).
    #[arg(long)]
    mouse: bool,
    /// Watch only: refuse every write, action, fault toggle and task (an
    /// emergency stop is still carried out); Ctrl-R cannot turn it off.
    #[arg(long)]
    read_only: bool,
    /// No colours (also when NO_COLOR is set); bold, dim and reverse remain.
    #[arg(long)]
    no_color: bool,
}

impl ConsoleArgs {
    /// The console's options: these flags over the [console] settings.
    fn options(
        self,
        console: settings::ConsoleSettings,
        config: &Config,
        method: Option<PathBuf>,
    ) -> labdeck::tui::ConsoleOptions {
        labdeck::tui::ConsoleOptions {
            theme: self.theme.unwrap_or(console.theme),
            no_color: self.no_color || labdeck::tui::no_color_requested(),
            mouse: self.mouse || console.mouse,
            frame_rate: console.frame_rate,
            data_rate: console.data_rate,
            log_level: config.logging.level.clone(),
            keymap: console.keymap,
            traffic_ring: config.traffic.ring,
            method,
            safety: labdeck::tui::Safety {
                read_only: self.read_only || console.read_only,
                locked: self.read_only,
                confirm: console.confirm,
            },
        }
    }
}

#[derive(Debug, Args, Default, Clone, Copy)]
struct IndiArgs {
    /// Serve labdeck's devices over INDI on this port of [indi.server]
    /// host (127.0.0.1 by default); 0 picks a free one.
    #[arg(long, value_name = "PORT", conflicts_with = "no_indi")]
    indi_port: Option<u16>,
    /// Do not start the INDI server, whatever the configuration says.
    #[arg(long)]
    no_indi: bool,
}

impl IndiArgs {
    fn apply(self, config: &mut Config) {
        if self.no_indi {
            config.indi_server = None;
        } else if let Some(port) = self.indi_port {
            config.indi_server.get_or_insert_with(Default::default).port = port;
        }
    }
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// The recording (`labdeck serve --record FILE`, `labdeck run --record FILE`).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Times the recorded pace (0.1–1000).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// The configuration whose [console] settings (theme, keys, rates) to use.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    console: ConsoleArgs,
}

/// Record the run's timeline.
#[derive(Debug, Args, Default, Clone)]
struct RecordArgs {
    /// Record every event of the run (traffic of every link, state
    /// transitions, alarms, fault toggles, notices, tasks) to FILE as JSON
    /// lines; `labdeck sim turbovac --replay FILE` answers from it
    /// (README: Recording and replay).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

impl RecordArgs {
    fn apply(self, config: &mut Config) {
        if let Some(path) = self.record {
            config.timeline = Some(path);
        }
    }
}

#[derive(Debug, Args, Default)]
struct AttachArgs {
    /// The daemon's control socket, or tcp:HOST:PORT (default: the socket
    /// of --config's configuration, $XDG_RUNTIME_DIR/labdeck/<name>.sock).
    #[arg(value_name = "SOCKET")]
    socket: Option<String>,
    /// The configuration whose daemon to find, and whose [console]
    /// settings (theme, keys, rates) to use.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A file holding the token of a daemon that listens on TCP with one.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Take the control lock even if another console holds it (without
    /// it, the first console to attach holds it and the others watch).
    #[arg(long)]
    control: bool,
    #[command(flatten)]
    console: ConsoleArgs,
    /// No console: print the daemon's events (with --json as JSON lines,
    /// as `serve --json` does) until it goes away.
    #[arg(long)]
    events: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// Which daemon to talk to.
#[derive(Debug, Args, Default, Clone)]
struct DaemonArgs {
    /// The daemon's control socket, or tcp:HOST:PORT (default: the socket
    /// of --config's configuration, $XDG_RUNTIME_DIR/labdeck/<name>.sock).
    #[arg(long, value_name = "SOCKET")]
    socket: Option<String>,
    /// The configuration whose daemon to find (as for `serve`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A file holding the token of a daemon that listens on TCP with one.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

impl DaemonArgs {
    /// Where the daemon is, and the token to present.
    fn target(&self) -> Result<(labdeck::daemon::Endpoint, Option<String>), String> {
        let endpoint = if let Some(socket) = &self.socket {
            labdeck::daemon::Endpoint::parse(socket)
        } else {
            let (_, origin) = labdeck_core::config::discover(self.config.as_deref())
                .map_err(|e| e.to_string())?;
            labdeck::daemon::Endpoint::Unix(labdeck::daemon::default_path(&origin))
        };
        Ok((endpoint, read_token(self.token_file.as_deref())?))
    }
}

/// A token file's first line.
fn read_token(file: Option<&Path>) -> Result<Option<String>, String> {
    let Some(file) = file else {
        return Ok(None);
    };
    let text =
        std::fs::read_to_string(file).map_err(|e| format!("token file {}: {e}", file.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.is_empty() {
        return Err(format!("token file {}: empty", file.display()));
    }
    Ok(Some(token))
}

#[derive(Debug, Args, Default)]
struct ServeArgs {
    /// Configuration file (default: ./labdeck.toml, the XDG config dir, or the demo).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Queue this method's tasks and jobs, record them, and exit when all
    /// have ended: status 0 if all completed, else non-zero with the reasons.
    #[arg(long, value_name = "FILE")]
    method: Option<PathBuf>,
    /// First queue again what a crashed run left (interrupted jobs with the
    /// tasks they had not started, waiting tasks), and exit when that has
    /// ended; with nothing to resume, the method is queued as usual.
    #[arg(long)]
    resume: bool,
    /// Where tasks record their CSV and sidecar files (overrides [tasks] data-dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keep serving as the lab's daemon on a control socket that consoles
    /// attach to (`labdeck attach`) and `labdeck ctl` talks to; default
    /// $XDG_RUNTIME_DIR/labdeck/<config>.sock, mode 0600 in a 0700
    /// directory. A stale socket is taken over; one a live daemon answers
    /// on is refused. tcp:HOST:PORT listens on TCP instead: a loopback
    /// address is reached by every local user; any other address only with
    /// --token-file, and then the token is all that keeps others out
    /// (plain TCP, no encryption: use an SSH tunnel across networks).
    #[arg(long, value_name = "SOCKET", num_args = 0..=1)]
    #[allow(clippy::option_option)]
    listen: Option<Option<String>>,
    /// A file whose first line is the token TCP clients must present.
    #[arg(long, value_name = "FILE", requires = "listen")]
    token_file: Option<PathBuf>,
    #[command(flatten)]
    indi: IndiArgs,
    #[command(flatten)]
    record: RecordArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args, Default, Clone, Copy)]
struct OutputArgs {
    /// Print events and replies as JSON lines (their forms: docs/wire.md).
    #[arg(long)]
    json: bool,
    /// Also print every TX/RX chunk.
    #[arg(long)]
    traffic: bool,
    /// Print every property update (default: at most one per property per second).
    #[arg(long)]
    all_updates: bool,
}

impl From<OutputArgs> for OutputOptions {
    fn from(a: OutputArgs) -> Self {
        Self {
            json: a.json,
            traffic: a.traffic,
            all_updates: a.all_updates,
        }
    }
}

fn main() -> ExitCode {
    labdeck::memory::limit_arenas();
    labdeck::memory::give_back_freed_memory();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run(cli.run)) {
        Command::Check { config } => check(config.as_deref()),
        Command::Run(args) => consoles::console(args),
        Command::Serve(args) => {
            let mut config = match settings::load(args.config.as_deref()) {
                Ok((config, _console)) => config,
                Err(e) => return fail(&e),
            };
            if let Some(dir) = args.data_dir {
                config.tasks.data_dir = dir;
            }
            args.indi.apply(&mut config);
            args.record.apply(&mut config);
            let token = match read_token(args.token_file.as_deref()) {
                Ok(token) => token,
                Err(e) => return fail(&e),
            };
            let listen = args.listen.map(|endpoint| {
                let endpoint = endpoint.map_or_else(
                    || {
                        labdeck::daemon::Endpoint::Unix(labdeck::daemon::default_path(
                            &config.origin,
                        ))
                    },
                    |e| labdeck::daemon::Endpoint::parse(&e),
                );
                (endpoint, token)
            });
            let _guard = init_logging(&config);
            run(headless::serve(
                config,
                args.output.into(),
                headless::MethodRun {
                    path: args.method,
                    resume: args.resume,
                },
                listen,
            ))
        }
        Command::Attach(args) => consoles::attach(args),
        Command::Replay(args) => consoles::replay(args),
        Command::Ctl { daemon, command } => {
            let (endpoint, token) = match daemon.target() {
                Ok(target) => target,
                Err(e) => return fail(&e),
            };
            let line = command.join(" ");
            let mut refused = false;
            let code = run(async {
                let (ok, text) = labdeck::daemon::ctl(&endpoint, token, &line)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("{text}");
                refused = !ok;
                Ok::<(), String>(())
            });
            if refused { ExitCode::from(1) } else { code }
        }
        Command::Status { daemon } => {
            let (endpoint, token) = match daemon.target() {
                Ok(target) => target,
                Err(e) => return fail(&e),
            };
            run(async {
                let text = labdeck::daemon::status(&endpoint, token)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("{text}");
                Ok::<(), String>(())
            })
        }
        Command::Sim(SimCommand::Turbovac {
            link,
            profile,
            wire_timing,
            flicker,
            ramp_rate,
            replay,
            replay_link,
            output,
        }) => {
            if (wire_timing || flicker) && profile != Profile::Realistic {
                eprintln!("error: --wire-timing and --flicker need --profile realistic");
                return ExitCode::from(2);
            }
            let mut pump = PumpConfig::for_profile(profile);
            pump.wire_timing = wire_timing;
            pump.flicker = flicker;
            if let Some(rate) = ramp_rate {
                if !(rate.is_finite() && rate > 0.0) {
                    eprintln!("error: --ramp-rate must be more than zero");
                    return ExitCode::from(2);
                }
                pump.ramp_rate = rate;
                pump.decel_rate = rate;
            }
            let replay =
                match replay.map(|file| sim_args::turbovac_replay(&file, replay_link.as_deref())) {
                    Some(Ok(book)) => Some(book),
                    Some(Err(e)) => return fail(&format!("error: {e}")),
                    None => None,
                };
            let _guard = init_stderr_logging("warn");
            run(headless::sim_turbovac(SimOptions {
                spec: TurbovacSimSpec { pump, link, replay },
                output: output.into(),
            }))
        }
        Command::Rfc2217(args) => {
            let _guard = init_stderr_logging("warn");
            run(headless::rfc2217(args.options()))
        }
        Command::Sniff(args) => {
            let _guard = init_stderr_logging("warn");
            run(headless::sniff(args.options()))
        }
        Command::Sim(SimCommand::Electrometer(args)) => {
            let mut spec = match args.spec() {
                Ok(spec) => spec,
                Err(e) => return fail(&format!("error: {e}")),
            };
            if let Some(file) = &args.replay {
                match sim_args::electrometer_replay(file, args.replay_link.as_deref()) {
                    Ok(book) => spec.replay = Some(book),
                    Err(e) => return fail(&format!("error: {e}")),
                }
            }
            let _guard = init_stderr_logging("warn");
            run(headless::sim_electrometer(ElectrometerOptions {
                spec,
                output: args.output.into(),
            }))
        }
    }
}

fn check(path: Option<&Path>) -> ExitCode {
    match settings::load(path) {
        Ok((config, console)) => {
            // A reader that stops early (`| head -1`) is not an error.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", config.summary()).and_then(|()| {
                writeln!(
                    out,
                    "console: {} fps ({} for data), theme {}, mouse {}",
                    console.frame_rate,
                    console.data_rate,
                    console.theme,
                    if console.mouse { "on" } else { "off" }
                )
            });
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("{error}");
    ExitCode::from(2)
}

/// Run a front end on a multi-threaded runtime; stdin's blocking reader
/// must not hold up the exit.
fn run<F, E>(front_end: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(front_end);
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("error: {e}")),
    }
}
