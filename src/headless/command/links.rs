//! `connect|disconnect|teardown|retry NAME` (a link, or a device's link).

use labdeck_core::connection::ConnCommand;
use labdeck_core::hub::Request;

use super::{Line, UsageError, usage};

pub(super) fn parse(words: &[&str]) -> Option<Result<Line, UsageError>> {
    let command = |verb: &str| match verb {
        "connect" => Some(ConnCommand::Connect),
        "disconnect" => Some(ConnCommand::Disconnect),
        "teardown" => Some(ConnCommand::Teardown),
        "retry" => Some(ConnCommand::RetryNow),
        _ => None,
    };
    let verb = words.first()?;
    let command = command(verb)?;
    Some(match words {
        [_, target] => Ok(Line::Request(Request::Connection {
            target: (*target).to_string(),
            command,
        })),
        _ => Err(usage(verb)),
    })
}
