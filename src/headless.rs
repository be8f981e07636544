//! Headless front ends: `labdeck serve` (the whole runtime) and
//! `labdeck sim …` (one simulator). Both print events as readable lines or
//! JSON lines on stdout and read commands on stdin, one per line, answering
//! each with a one-line reply.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use labdeck_core::bus::{AlarmKind, Event, EventBus, Timestamp};
use labdeck_core::config::Config;
use labdeck_core::device::{TaskSnapshot, TaskState};
use labdeck_core::link::TrafficTap;
use labdeck_core::link::pty::PtyError;
use labdeck_core::reply::Reply;
use labdeck_core::runtime::{Hub, Runtime, RuntimeError};
use labdeck_core::server::ServerError;
use labdeck_core::sim::SimulatorHandle;
use labdeck_core::sim::electrometer::{ElectrometerSimSpec, ElectrometerSimulator};
use labdeck_core::sim::turbovac::{PumpSimulator, TurbovacSimSpec};

#[derive(Debug, Error)]
pub enum HeadlessError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("cannot start the simulator: {0}")]
    Simulator(#[from] PtyError),
    #[error("cannot start the simulator: {0}")]
    Server(#[from] ServerError),
    #[error("cannot listen for signals: {0}")]
    Signals(std::io::Error),
    #[error("{0}")]
    Method(String),
    #[error("not every task completed: {0}")]
    Tasks(String),
}

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

/// Run the runtime headless until Ctrl-C, SIGTERM or `quit` — or, with a
/// method, until all its tasks have ended (an error unless all completed).
pub async fn serve(
    config: Config,
    output: OutputOptions,
    method: Option<PathBuf>,
) -> Result<(), HeadlessError> {
    let signals = StopSignals::listen()?;
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
    let printer = tokio::spawn(print_events(events, output, stop.clone()));
    let mut watched = Vec::new();
    if let Some(path) = &method {
        let reply = runtime.hub().load(path).await;
        print_reply(&reply, output.json);
        if !reply.success {
            runtime.shutdown().await?;
            stop.cancel();
            let _ = printer.await;
            return Err(HeadlessError::Method(reply.msg));
        }
        watched = queued_ids(&reply);
    }
    let ended = tasks_ended(runtime.hub().clone(), watched);
    let outcome = command_loop(runtime.hub(), output, signals, ended).await;
    runtime.shutdown().await?;
    stop.cancel();
    let _ = printer.await;
    match outcome? {
        Some(tasks) => judge(&tasks),
        None => Ok(()),
    }
}

/// `(device, id)` of each task a `load` queued.
fn queued_ids(reply: &Reply) -> Vec<(String, u64)> {
    reply
        .data
        .as_ref()
        .and_then(|d| d.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| Some((i["device"].as_str()?.to_string(), i["id"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Resolves with the final snapshots once every watched task has ended;
/// never, when there is none to watch.
async fn tasks_ended(hub: Hub, watched: Vec<(String, u64)>) -> Vec<TaskSnapshot> {
    if watched.is_empty() {
        return std::future::pending().await;
    }
    loop {
        let found: Vec<TaskSnapshot> = watched
            .iter()
            .filter_map(|(device, id)| {
                hub.device(device)?
                    .snapshot()
                    .tasks
                    .into_iter()
                    .find(|t| t.id == *id && t.state.is_terminal())
            })
            .collect();
        if found.len() == watched.len() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Success only when every task completed; the others, with reasons.
fn judge(tasks: &[TaskSnapshot]) -> Result<(), HeadlessError> {
    let now = Timestamp::now();
    for task in tasks {
        eprintln!("{}", labdeck_core::runtime::describe(task, now));
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
    let tap = TrafficTap::new(name.clone(), 10_000, bus.clone());
    let cancel = CancellationToken::new();
    let profile = options.spec.pump.profile;
    let (sim, handle, _) = PumpSimulator::create(
        name.clone(),
        options.spec,
        bus.clone(),
        tap.clone(),
        cancel.clone(),
    )?;
    let path = sim.client_path().unwrap_or_default();
    // Subscribed before anyone can know the port: no event is missed.
    let events = bus.subscribe();
    println!("{}", path.display());
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
    let tap = TrafficTap::new(name.clone(), 10_000, bus.clone());
    let cancel = CancellationToken::new();
    let dialect = options.spec.dialect.describe();
    let (sim, handle) = ElectrometerSimulator::create(
        name,
        options.spec,
        bus.clone(),
        Some(tap.clone()),
        cancel.clone(),
    )
    .await?;
    let address = sim.local_addr();
    // Subscribed before anyone can know the address: no event is missed.
    let events = bus.subscribe();
    println!("{address}");
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
    let printer = tokio::spawn(print_events(events, output, stop.clone()));
    let result = command_loop(&hub, output, signals, std::future::pending::<()>())
        .await
        .map(|_| ());
    cancel.cancel();
    if let Ok(Err(e)) = task.await {
        eprintln!("simulator stopped with an error: {e}");
    }
    stop.cancel();
    let _ = printer.await;
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
            _ = signals.recv() => break,
            ended = &mut until => return Ok(Some(ended)),
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    if let Some(reply) = hub.execute_line(&line).await {
                        print_reply(&reply, output.json);
                        if reply.success && reply.msg == "quit" {
                            break;
                        }
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
        let line = serde_json::json!({ "event": "reply", "reply": reply });
        println!("{line}");
    } else {
        println!("{reply}");
    }
}

/// Print events until `stop`; property updates are throttled per property
/// unless `all_updates` (the latest value is always printed eventually).
async fn print_events(
    mut events: broadcast::Receiver<Event>,
    output: OutputOptions,
    stop: CancellationToken,
) {
    let throttle = !output.all_updates && !output.json;
    let mut last_printed: HashMap<(Arc<str>, String), tokio::time::Instant> = HashMap::new();
    let mut held: HashMap<(Arc<str>, String), Event> = HashMap::new();
    let mut flush = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            // Events first: what happened before the stop is still printed.
            biased;
            event = events.recv() => match event {
                Ok(event) => {
                    if let (true, Event::Property { device, update }) = (throttle, &event) {
                        let key = (device.clone(), update.name.clone());
                        let now = tokio::time::Instant::now();
                        if last_printed.get(&key).is_some_and(|t| now.duration_since(*t) < Duration::from_secs(1)) {
                            held.insert(key, event);
                            continue;
                        }
                        last_printed.insert(key.clone(), now);
                        held.remove(&key);
                    }
                    emit(&event, output);
                }
                Err(RecvError::Lagged(n)) => {
                    if output.json {
                        println!("{}", serde_json::json!({ "event": "lagged", "dropped": n }));
                    } else {
                        println!("{} lagged   {n} events dropped (output too slow)", clock(&Timestamp::now()));
                    }
                }
                Err(RecvError::Closed) => break,
            },
            _ = flush.tick(), if throttle => {
                let now = tokio::time::Instant::now();
                let due: Vec<_> = held
                    .keys()
                    .filter(|k| last_printed.get(*k).is_none_or(|t| now.duration_since(*t) >= Duration::from_secs(1)))
                    .cloned()
                    .collect();
                for key in due {
                    if let Some(event) = held.remove(&key) {
                        last_printed.insert(key, now);
                        emit(&event, output);
                    }
                }
            }
            _ = stop.cancelled() => break,
        }
    }
}

fn emit(event: &Event, output: OutputOptions) {
    if matches!(event, Event::Traffic(_)) && !output.traffic {
        return;
    }
    if output.json {
        if let Ok(line) = serde_json::to_string(event) {
            println!("{line}");
        }
    } else {
        println!("{}", render(event));
    }
}

/// `HH:MM:SS.mmm` in local time.
pub fn clock(t: &Timestamp) -> String {
    chrono::DateTime::<chrono::Local>::from(t.wall)
        .format("%H:%M:%S%.3f")
        .to_string()
}

/// One readable line per event.
pub fn render(event: &Event) -> String {
    match event {
        Event::Transition { connection, record } => format!(
            "{} link     {connection}: {} -> {} ({})",
            clock(&record.t),
            record.from,
            record.to,
            record.reason
        ),
        Event::Property { device, update } => format!(
            "{} property {device}.{} = {} [{}]",
            clock(&update.t),
            update.name,
            update.display,
            update.state.as_str()
        ),
        Event::Traffic(chunk) => format!(
            "{} traffic  {} {} {}",
            clock(&chunk.t),
            chunk.link,
            chunk.dir.as_str(),
            chunk.hex()
        ),
        Event::Alarm {
            t,
            source,
            kind,
            active,
            reason,
        } => {
            let kind = match kind {
                AlarmKind::Link => "link",
                AlarmKind::Device => "device",
                AlarmKind::Actor => "actor",
            };
            let word = if *active { "ALARM   " } else { "cleared " };
            format!("{} {word} {source} ({kind}): {reason}", clock(t))
        }
        Event::Fault {
            t,
            simulator,
            fault,
        } => format!("{} fault    {simulator}: {fault}", clock(t)),
        Event::Task {
            t,
            device,
            id,
            name,
            state,
            reason,
            file,
        } => {
            let mut line = format!(
                "{} task     {device} #{id} '{name}': {}",
                clock(t),
                state.as_str()
            );
            if let Some(reason) = reason {
                line.push_str(&format!(" ({reason})"));
            }
            if let Some(file) = file
                .as_ref()
                .filter(|_| *state == labdeck_core::device::TaskState::Running)
            {
                line.push_str(&format!(" -> {}", file.display()));
            }
            line
        }
        Event::Notice { t, source, message } => {
            format!("{} notice   {source}: {message}", clock(t))
        }
        Event::Actor {
            t,
            actor,
            faulted,
            reason,
        } => {
            let word = if *faulted { "FAULTED" } else { "stopped" };
            format!("{} actor    {actor}: {word}: {reason}", clock(t))
        }
    }
}
