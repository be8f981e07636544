//! Headless front ends: `labdeck serve` (the whole runtime) and
//! `labdeck sim …` (one simulator). Both print events as readable lines or
//! JSON lines on stdout and read commands of the text language on stdin,
//! one per line, answering each with a one-line reply.

pub mod command;
pub mod out;
pub mod print;
mod rfc2217;
mod sniff;

pub use rfc2217::{Rfc2217Options, rfc2217};
pub use sniff::{SniffOptions, sniff};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use self::command::Reply;
use self::print::Definitions;
use labdeck_core::bus::{Event, EventBus};
use labdeck_core::config::{Config, TrafficSettings};
use labdeck_core::device::{TaskSnapshot, TaskState};
use labdeck_core::hub::{Hub, Origin, Outcome, QueuedTask};
use labdeck_core::jobs::JobSnapshot;
use labdeck_core::link::TrafficTap;
use labdeck_core::link::pty::PtyError;
use labdeck_core::runtime::{Runtime, RuntimeError};
use labdeck_core::server::ServerError;
use labdeck_core::sim::SimulatorHandle;
use labdeck_core::sim::electrometer::{ElectrometerSimSpec, ElectrometerSimulator};
use labdeck_core::sim::turbovac::{PumpSimulator, TurbovacSimSpec};
use labdeck_core::time::Timestamp;

#[derive(Debug, Error)]
pub enum HeadlessError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("cannot start the simulator: {0}")]
    Simulator(#[from] PtyError),
    #[error("cannot start the simulator: {0}")]
    Server(#[from] ServerError),
    #[error("cannot create the sniffer's pty: {0}")]
    Sniffer(PtyError),
    #[error("{0}")]
    Capture(String),
    #[error("cannot listen on {0}")]
    Listen(String),
    #[error("cannot listen for signals: {0}")]
    Signals(std::io::Error),
    #[error("{0}")]
    Method(String),
    #[error("not every task completed: {0}")]
    Tasks(String),
    #[error("control socket: {0}")]
    Socket(#[from] crate::daemon::SocketError),
    #[error(transparent)]
    Attach(#[from] crate::daemon::ClientError),
}

/// How long what is still queued for stdout may take to go out at the end.
const PARTING: Duration = Duration::from_secs(1);

/// How events are printed.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputOptions {
    /// JSON lines instead of readable lines.
    pub json: bool,
    /// Include every TX/RX chunk.
    pub traffic: bool,
    /// Print every property update instead of at most one per property per second.
    pub all_updates: bool,
}

/// What `serve` runs to its end: a method, and first what a crashed run
/// left when asked to resume.
#[derive(Debug, Clone, Default)]
pub struct MethodRun {
    pub path: Option<PathBuf>,
    pub resume: bool,
}

/// Run the runtime headless until Ctrl-C, SIGTERM or `quit` — or, with a
/// method (or work resumed), until all its tasks and jobs have ended (an
/// error unless all completed).
pub async fn serve(
    config: Config,
    output: OutputOptions,
    method: MethodRun,
    listen: Option<(crate::daemon::Endpoint, Option<String>)>,
) -> Result<(), HeadlessError> {
    let signals = StopSignals::listen()?;
    // Bound before anything starts: a second daemon is refused at once.
    let listener = listen
        .map(|(endpoint, token)| crate::daemon::Listener::bind_endpoint(&endpoint, token))
        .transpose()?;
    let bus = EventBus::new(config.traffic.events);
    // Subscribed before anything starts: the first transitions are printed too.
    let events = bus.subscribe();
    let runtime = Runtime::start_on(&config, bus).await?;
    crate::indi::start(&runtime, config.indi_server.as_ref()).await;
    eprintln!(
        "labdeck serving {} ({} links, {} devices, {} simulators); commands on stdin, 'help' lists them",
        config.origin,
        config.links.len(),
        config.devices.len(),
        config.simulators.len()
    );
    let stop = CancellationToken::new();
    let daemon = listener.map(|listener| {
        eprintln!(
            "control socket {0} (labdeck attach {0}; labdeck ctl --socket {0} COMMAND)",
            listener.endpoint()
        );
        tokio::spawn(crate::daemon::serve(
            listener,
            runtime.hub().clone(),
            config.origin.to_string(),
            std::sync::Arc::default(),
            stop.clone(),
        ))
    });
    let defs = Definitions::from_snapshots(&runtime.hub().snapshot().devices);
    let printer = tokio::spawn(print::events(events, defs, output, stop.clone()));
    let mut watched = Vec::new();
    let mut jobs = Vec::new();
    if method.resume {
        let request = labdeck_core::hub::Request::Queue {
            control: labdeck_core::device::QueueControl::Resume,
        };
        let result = runtime.hub().request_as(Origin::Serve, request).await;
        if let Ok(Outcome::Queue(outcome)) = &result {
            watched.clone_from(&outcome.resumed_tasks);
            jobs = outcome.resumed_jobs.iter().map(|j| j.id).collect();
        }
        print_reply(&Reply::from_result(result), output.json);
    }
    let nothing_resumed = watched.is_empty() && jobs.is_empty();
    if let Some(path) = method.path.as_ref().filter(|_| nothing_resumed) {
        let result = runtime
            .hub()
            .request_as(
                Origin::Serve,
                labdeck_core::hub::Request::Load { path: path.clone() },
            )
            .await;
        if let Ok(Outcome::MethodQueued {
            tasks,
            jobs: queued,
            ..
        }) = &result
        {
            watched.clone_from(tasks);
            jobs = queued.iter().map(|j| j.id).collect();
        }
        let reply = Reply::from_result(result);
        print_reply(&reply, output.json);
        if !reply.ok {
            runtime.shutdown().await?;
            stop.cancel();
            let _ = printer.await;
            out::flush(PARTING);
            return Err(HeadlessError::Method(reply.text));
        }
    }
    let ended = method_ended(runtime.hub().clone(), watched, jobs);
    let outcome = command_loop(runtime.hub(), output, signals, ended).await;
    runtime.shutdown().await?;
    stop.cancel();
    let _ = printer.await;
    if let Some(daemon) = daemon {
        // Its socket file goes with it.
        let _ = daemon.await;
    }
    out::flush(PARTING);
    match outcome? {
        Some((tasks, jobs)) => judge(&tasks, &jobs),
        None => Ok(()),
    }
}

/// `labdeck attach --json`: a daemon's events printed as `serve` prints
/// them, until the daemon goes away or a signal arrives.
pub async fn print_attached(
    endpoint: &crate::daemon::Endpoint,
    token: Option<String>,
    output: OutputOptions,
) -> Result<(), HeadlessError> {
    let mut signals = StopSignals::listen()?;
    let peer = crate::daemon::this_peer("json");
    let (client, welcome, frames) =
        crate::daemon::connect_to(endpoint, token, peer, false, true).await?;
    let remote = crate::daemon::Remote::follow(frames, welcome.snapshot.clone(), 4096);
    let defs = Definitions::from_snapshots(&welcome.snapshot.devices);
    let stop = CancellationToken::new();
    let mut printer = tokio::spawn(print::events(
        remote.subscribe(),
        defs,
        output,
        stop.clone(),
    ));
    let gone = tokio::select! {
        () = signals.recv() => false,
        _ = &mut printer => true,
    };
    stop.cancel();
    let _ = printer.await;
    drop(client);
    out::flush(PARTING);
    if gone {
        return Err(crate::daemon::ClientError::Gone.into());
    }
    Ok(())
}

/// Resolves with the final snapshots once every watched task and job has
/// ended; never, when there is none to watch.
async fn method_ended(
    hub: Hub,
    watched: Vec<QueuedTask>,
    jobs: Vec<u64>,
) -> (Vec<TaskSnapshot>, Vec<JobSnapshot>) {
    if watched.is_empty() && jobs.is_empty() {
        return std::future::pending().await;
    }
    loop {
        let found: Vec<TaskSnapshot> = watched
            .iter()
            .filter_map(|task| {
                hub.device(&task.device)?
                    .snapshot()
                    .tasks
                    .into_iter()
                    .find(|t| t.id == task.id && t.state.is_terminal())
            })
            .collect();
        let ended: Vec<JobSnapshot> = hub
            .jobs()
            .snapshots()
            .into_iter()
            .filter(|j| jobs.contains(&j.id) && j.state.is_terminal())
            .collect();
        if found.len() == watched.len() && ended.len() == jobs.len() {
            return (found, ended);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Success only when every task and job completed; the others, with
/// reasons.
fn judge(tasks: &[TaskSnapshot], jobs: &[JobSnapshot]) -> Result<(), HeadlessError> {
    let now = Timestamp::now();
    for task in tasks {
        eprintln!("{}", command::describe(task, now));
    }
    for job in jobs {
        eprintln!("{}", command::describe_job(job));
    }
    let failed: Vec<String> = tasks
        .iter()
        .filter(|t| t.state != TaskState::Completed)
        .map(|t| {
            format!(
                "{} #{} '{}' {}{}",
                t.spec.device,
                t.id,
                t.spec.name,
                t.state.as_str(),
                t.reason
                    .as_ref()
                    .map_or_else(String::new, |r| format!(": {r}"))
            )
        })
        .chain(
            jobs.iter()
                .filter(|j| j.state != TaskState::Completed)
                .map(command::describe_job),
        )
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(HeadlessError::Tasks(failed.join("; ")))
    }
}

/// Options of `labdeck sim turbovac`.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub spec: TurbovacSimSpec,
    pub output: OutputOptions,
}

/// Options of `labdeck sim electrometer`.
#[derive(Debug, Clone)]
pub struct ElectrometerOptions {
    pub spec: ElectrometerSimSpec,
    pub output: OutputOptions,
}

/// Run the TURBOVAC simulator alone. The first stdout line is the port path.
pub async fn sim_turbovac(options: SimOptions) -> Result<(), HeadlessError> {
    let signals = StopSignals::listen()?;
    let bus = EventBus::default();
    let name: Arc<str> = "turbovac".into();
    let tap = TrafficTap::new(
        name.clone(),
        TrafficSettings::default().ring_limits(),
        Arc::new(bus.clone()),
    );
    let cancel = CancellationToken::new();
    let profile = options.spec.pump.profile;
    let (sim, handle, _) = PumpSimulator::create(
        name.clone(),
        options.spec,
        Arc::new(bus.clone()),
        tap.clone(),
        cancel.clone(),
    )?;
    let path = sim.client_path().unwrap_or_default();
    // Subscribed before anyone can know the port: no event is missed.
    let events = bus.subscribe();
    out::line(path.display().to_string());
    eprintln!(
        "turbovac simulator ({} profile) on {}; commands on stdin ('faults' lists the faults), Ctrl-C to stop",
        profile.as_str(),
        path.display()
    );
    let task = tokio::spawn(async move { sim.run().await.map_err(|e| e.to_string()) });
    attend(
        LoneSimulator {
            handle,
            tap,
            bus,
            events,
            cancel,
            task,
        },
        options.output,
        signals,
    )
    .await
}

/// Run the electrometer simulator alone. The first stdout line is the
/// address it listens on.
pub async fn sim_electrometer(options: ElectrometerOptions) -> Result<(), HeadlessError> {
    let signals = StopSignals::listen()?;
    let bus = EventBus::default();
    let name: Arc<str> = "electrometer".into();
    let tap = TrafficTap::new(
        name.clone(),
        TrafficSettings::default().ring_limits(),
        Arc::new(bus.clone()),
    );
    let cancel = CancellationToken::new();
    let dialect = options.spec.dialect.describe();
    let (sim, handle) = ElectrometerSimulator::create(
        name,
        options.spec,
        Arc::new(bus.clone()),
        Some(tap.clone()),
        cancel.clone(),
    )
    .await?;
    let address = sim.local_addr();
    // Subscribed before anyone can know the address: no event is missed.
    let events = bus.subscribe();
    out::line(address.to_string());
    eprintln!(
        "electrometer simulator ({dialect} dialect) on {address}; commands on stdin ('faults' lists the faults), Ctrl-C to stop"
    );
    let task = tokio::spawn(async move { sim.run().await.map_err(|e| e.to_string()) });
    attend(
        LoneSimulator {
            handle,
            tap,
            bus,
            events,
            cancel,
            task,
        },
        options.output,
        signals,
    )
    .await
}

/// A simulator running alone, with what it reports through.
struct LoneSimulator {
    handle: SimulatorHandle,
    tap: TrafficTap,
    bus: EventBus,
    events: broadcast::Receiver<Event>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

/// Print a lone simulator's events and serve stdin commands until the end.
async fn attend(
    sim: LoneSimulator,
    output: OutputOptions,
    signals: StopSignals,
) -> Result<(), HeadlessError> {
    let LoneSimulator {
        handle,
        tap,
        bus,
        events,
        cancel,
        task,
    } = sim;
    let hub = Hub::for_simulator(handle, tap, bus.clone());
    let stop = CancellationToken::new();
    let printer = tokio::spawn(print::events(
        events,
        Definitions::default(),
        output,
        stop.clone(),
    ));
    let result = command_loop(&hub, output, signals, std::future::pending::<()>())
        .await
        .map(|_| ());
    cancel.cancel();
    if let Ok(Err(e)) = task.await {
        eprintln!("simulator stopped with an error: {e}");
    }
    stop.cancel();
    let _ = printer.await;
    out::flush(PARTING);
    result
}

/// SIGINT, SIGTERM and SIGHUP, listened for from before anything starts:
/// a signal that arrives while the runtime is coming up still stops it
/// cleanly instead of killing the process.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn listen() -> Result<Self, HeadlessError> {
        use tokio::signal::unix::{SignalKind, signal};
        let on = |kind| signal(kind).map_err(HeadlessError::Signals);
        Ok(Self {
            interrupt: on(SignalKind::interrupt())?,
            terminate: on(SignalKind::terminate())?,
            hangup: on(SignalKind::hangup())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
            _ = self.hangup.recv() => {}
        }
    }
}

/// Read commands until EOF-and-signal, a signal, or `quit`.
async fn command_loop<F>(
    hub: &Hub,
    output: OutputOptions,
    mut signals: StopSignals,
    until: F,
) -> Result<Option<F::Output>, HeadlessError>
where
    F: std::future::Future,
{
    tokio::pin!(until);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            () = signals.recv() => break,
            ended = &mut until => return Ok(Some(ended)),
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    let quit = matches!(command::parse(&line), Ok(Some(command::Line::Quit)));
                    if let Some(reply) = command::execute(hub, Origin::Serve, &line).await {
                        print_reply(&reply, output.json);
                    }
                    if quit {
                        break;
                    }
                }
                // Without stdin the process keeps serving until a signal.
                Ok(None) | Err(_) => stdin_open = false,
            },
        }
    }
    Ok(None)
}

fn print_reply(reply: &Reply, json: bool) {
    if json {
        out::line(reply.to_json().to_string());
    } else {
        out::line(reply.to_string());
    }
}
