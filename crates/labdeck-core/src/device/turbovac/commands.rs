//! Operator commands: attributes and actions of the pump.

use super::{PumpDriver, props};
use crate::device::{PropState, Value};
use crate::protocol::turbovac::ControlWord;
use crate::reply::Reply;

impl PumpDriver {
    /// Write a validated attribute.
    pub(super) async fn write_attr(&mut self, attr: &str, value: Value) -> Reply {
        match (attr, value) {
            (props::ON, Value::Bool(on)) => self.switch(on).await,
            (props::SETPOINT, Value::Int(hz)) => {
                match self.write_param(24, 0, &hz.to_string()).await {
                    Ok((_, v)) => {
                        self.core
                            .set(props::SETPOINT, Value::Int(v.as_i64()), PropState::Ok);
                        self.publish_snapshot();
                        Reply::ok(format!("{}.setpoint = {} Hz", self.core.name, v))
                    }
                    Err(reply) => {
                        self.core.set_state(props::SETPOINT, PropState::Alert);
                        self.publish_snapshot();
                        reply
                    }
                }
            }
            (props::RAMP_RATE, Value::Float(rate)) => {
                self.core
                    .set(props::RAMP_RATE, Value::Float(rate), PropState::Ok);
                self.publish_snapshot();
                Reply::ok(format!("{}.ramp-rate = {rate} Hz/s", self.core.name))
            }
            (other, value) => Reply::fail(format!(
                "{}: cannot write {other} = {}",
                self.core.name,
                value.render(3)
            )),
        }
    }

    pub(super) async fn switch(&mut self, on: bool) -> Reply {
        self.wanted_on = Some(on);
        let stw = if on {
            ControlWord::RUN
        } else {
            ControlWord::STOP
        };
        match self.control(stw).await {
            Ok(_) => {
                let word = if on { "on" } else { "off" };
                self.core
                    .bus
                    .notice(&self.core.name, format!("switched {word}"));
                Reply::ok(format!("{} switched {word}", self.core.name))
            }
            Err(e) => Reply::fail(format!("{}: {e}", self.core.name)),
        }
    }

    pub(super) async fn run_action(&mut self, name: &str, args: &[String]) -> Reply {
        let arg = |i: usize| args.get(i).map(String::as_str);
        match (name, args.len()) {
            ("on", 0) => self.switch(true).await,
            ("off", 0) => self.switch(false).await,
            ("reset", 0) => {
                // With ON while the pump should run: COMMAND without ON
                // would switch it off (§5).
                let stw = ControlWord::reset_error(self.wanted_on == Some(true));
                match self.control(stw).await {
                    Ok(_) => Reply::ok(format!("{}: error reset sent ({stw})", self.core.name)),
                    Err(e) => Reply::fail(format!("{}: {e}", self.core.name)),
                }
            }
            ("poll", 0) => match self.poll_status().await {
                Ok(x) => Reply::ok(format!(
                    "{}: {} in {:.3} ms",
                    self.core.name,
                    x.reply.status_word(),
                    x.round_trip.as_secs_f64() * 1e3
                ))
                .with_data(serde_json::json!({ "round_trip_us": x.round_trip.as_micros() as u64 })),
                Err(e) => Reply::fail(format!("{}: {e}", self.core.name)),
            },
            ("read", 1 | 2) => {
                let Some((pnu, index)) = parse_param(arg(0), arg(1)) else {
                    return Reply::fail("usage: read PNU [INDEX]");
                };
                match self.read_param(pnu, index).await {
                    Ok((_, v)) => Reply::ok(format!("P{pnu}[{index}] = {v}")).with_data(v.as_f64()),
                    Err(reply) => reply,
                }
            }
            ("write", 2 | 3) => {
                let Some((pnu, index)) = parse_param(arg(0), arg(2)) else {
                    return Reply::fail("usage: write PNU VALUE [INDEX]");
                };
                match self.write_param(pnu, index, &args[1]).await {
                    Ok((_, v)) => Reply::ok(format!("P{pnu}[{index}] = {v}")).with_data(v.as_f64()),
                    Err(reply) => reply,
                }
            }
            _ => Reply::fail(format!(
                "unknown action {name:?} with {} argument(s) for {}; actions: on, off, reset, poll, read PNU [INDEX], write PNU VALUE [INDEX]",
                args.len(),
                self.core.name
            )),
        }
    }
}

fn parse_param(pnu: Option<&str>, index: Option<&str>) -> Option<(u16, u8)> {
    let pnu = pnu?.parse().ok()?;
    let index = match index {
        Some(i) => i.parse().ok()?,
        None => 0,
    };
    Some((pnu, index))
}
