//! The subcommands that open the console: on a lab of its own (`run`),
//! on a daemon's (`attach`), on a recording (`replay`).

use std::process::ExitCode;

use labdeck::headless;
use labdeck::tui::settings;
use labdeck_core::runtime::Runtime;

use super::{AttachArgs, DaemonArgs, ReplayArgs, RunArgs, fail, run};
use crate::logging::{init_console_logging, init_stderr_logging};

pub(crate) fn console(args: RunArgs) -> ExitCode {
    if let Err(e) = labdeck::tui::check_terminal() {
        return fail(&format!("error: {e}"));
    }
    let (mut config, console) = match settings::load(args.config.as_deref()) {
        Ok(both) => both,
        Err(e) => return fail(&e),
    };
    if let Some(dir) = args.data_dir {
        config.tasks.data_dir = dir;
    }
    args.indi.apply(&mut config);
    args.record.apply(&mut config);
    if let Some(method) = &args.method
        && let Err(e) = labdeck_core::hub::load_method(method)
    {
        return fail(&e);
    }
    let options = args.console.options(console, &config, args.method);
    // Validate what can be checked before the screen is taken over.
    if let Err(e) = labdeck::tui::Theme::load(&options.theme, options.no_color) {
        return fail(&e);
    }
    let _guard = init_console_logging(&config);
    run(async move {
        let runtime = Runtime::start(&config).await.map_err(|e| e.to_string())?;
        labdeck::indi::start(&runtime, config.indi_server.as_ref()).await;
        let lab = labdeck::tui::Lab::Embedded(runtime.hub().clone());
        let result = labdeck::tui::run(lab, options).await;
        let shutdown = runtime.shutdown().await;
        result.map_err(|e| e.to_string())?;
        shutdown.map_err(|e| e.to_string())
    })
}

pub(crate) fn attach(args: AttachArgs) -> ExitCode {
    let daemon = DaemonArgs {
        socket: args.socket.clone(),
        config: args.config.clone(),
        token_file: args.token_file.clone(),
    };
    let (endpoint, token) = match daemon.target() {
        Ok(target) => target,
        Err(e) => return fail(&e),
    };
    if args.events || args.output.json {
        let _guard = init_stderr_logging("warn");
        return run(headless::print_attached(
            &endpoint,
            token,
            args.output.into(),
        ));
    }
    if let Err(e) = labdeck::tui::check_terminal() {
        return fail(&format!("error: {e}"));
    }
    let (config, console) = match settings::load(args.config.as_deref()) {
        Ok(both) => both,
        Err(e) => return fail(&e),
    };
    let options = args.console.options(console, &config, None);
    if let Err(e) = labdeck::tui::Theme::load(&options.theme, options.no_color) {
        return fail(&e);
    }
    let _guard = init_console_logging(&config);
    let events = config.traffic.events;
    run(async move {
        // Connected before the screen is taken: a missing daemon is said
        // on the terminal as it is.
        let peer = labdeck::daemon::this_peer("console");
        let (client, welcome, frames) =
            labdeck::daemon::connect_to(&endpoint, token, peer, true, true)
                .await
                .map_err(|e| e.to_string())?;
        if args.control {
            client.take_control().map_err(|e| e.to_string())?;
        }
        let attached = labdeck::tui::Attached::new(client, welcome, frames, events);
        let lab = labdeck::tui::Lab::Attached(Box::new(attached));
        labdeck::tui::run(lab, options)
            .await
            .map_err(|e| e.to_string())
    })
}

pub(crate) fn replay(args: ReplayArgs) -> ExitCode {
    if !(0.1..=1000.0).contains(&args.speed) {
        return fail(&"error: --speed must be from 0.1 to 1000");
    }
    let timeline = match labdeck_core::timeline::Timeline::read(&args.file) {
        Ok(timeline) => timeline,
        Err(e) => return fail(&format!("error: {e}")),
    };
    if let Err(e) = labdeck::tui::check_terminal() {
        return fail(&format!("error: {e}"));
    }
    let (config, console) = match settings::load(args.config.as_deref()) {
        Ok(both) => both,
        Err(e) => return fail(&e),
    };
    let mut options = args.console.options(console, &config, None);
    // Nothing a replay shows can be acted on.
    options.safety.read_only = true;
    options.safety.locked = true;
    if let Err(e) = labdeck::tui::Theme::load(&options.theme, options.no_color) {
        return fail(&e);
    }
    let _guard = init_console_logging(&config);
    let capacity = config.traffic.events;
    let file = args.file.display().to_string();
    run(async move {
        let (player, first, frames) = labdeck::replay::Player::start(timeline, args.speed)?;
        let replayed = labdeck::tui::Replayed::new(file, first, frames, player, capacity);
        labdeck::tui::run(labdeck::tui::Lab::Replay(Box::new(replayed)), options)
            .await
            .map_err(|e| e.to_string())
    })
}
