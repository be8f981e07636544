//! Operator commands: attributes and actions of the pump.

use super::{PumpDriver, props};
use crate::device::{ActionOutcome, DeviceOutcome, PropState, Value};
use crate::error::HubError;
use crate::protocol::turbovac::ControlWord;

impl PumpDriver {
    /// Write a checked attribute.
    pub(super) async fn write_attr(
        &mut self,
        attr: &str,
        value: Value,
    ) -> Result<DeviceOutcome, HubError> {
        match (attr, value) {
            (props::ON, Value::Bool(on)) => {
                self.switch(on).await?;
                Ok(DeviceOutcome::Power { on })
            }
            (props::SETPOINT, Value::Number(hz)) => {
                let text = (hz.round() as i64).to_string();
                match self.write_param(24, 0, &text).await {
                    Ok((_, v)) => {
                        self.core
                            .set(props::SETPOINT, Value::from(v.as_i64()), PropState::Ok);
                        self.publish_snapshot();
                        Ok(self.written(props::SETPOINT))
                    }
                    Err(refusal) => {
                        self.core.set_state(props::SETPOINT, PropState::Alert);
                        self.publish_snapshot();
                        Err(refusal)
                    }
                }
            }
            (props::RAMP_RATE, Value::Number(rate)) => {
                self.core.set(props::RAMP_RATE, rate, PropState::Ok);
                self.publish_snapshot();
                Ok(self.written(props::RAMP_RATE))
            }
            (other, value) => Err(self
                .core
                .bad_argument(format!("cannot write {other} = {value:?}"))),
        }
    }

    /// The outcome of a write: the property as it is now.
    fn written(&self, attr: &str) -> DeviceOutcome {
        DeviceOutcome::Set {
            property: self.core.sheet.get(attr).cloned().unwrap_or_else(|| {
                crate::device::Property::new(crate::device::PropertyDef::new(attr, attr, ""))
            }),
        }
    }

    pub(super) async fn switch(&mut self, on: bool) -> Result<(), HubError> {
        self.wanted_on = Some(on);
        let stw = if on {
            ControlWord::RUN
        } else {
            ControlWord::STOP
        };
        match self.control(stw).await {
            Ok(_) => {
                let word = if on { "on" } else { "off" };
                self.core.report.notice(format!("switched {word}"));
                Ok(())
            }
            Err(e) => Err(self.exchange_error(&e)),
        }
    }

    /// A failed exchange as the caller's refusal.
    pub(super) fn exchange_error(&self, error: &super::ExchangeError) -> HubError {
        match error {
            super::ExchangeError::NotConnected => self.core.link_down(),
            other => self.core.exchange_failed(other),
        }
    }

    pub(super) async fn run_action(
        &mut self,
        name: &str,
        args: &[String],
    ) -> Result<ActionOutcome, HubError> {
        let arg = |i: usize| args.get(i).map(String::as_str);
        match (name, args.len()) {
            ("reset", 0) => {
                // With ON while the pump should run: COMMAND without ON
                // would switch it off (§5).
                let stw = ControlWord::reset_error(self.wanted_on == Some(true));
                match self.control(stw).await {
                    Ok(_) => Ok(ActionOutcome::ResetSent {
                        control_word: stw.to_string(),
                    }),
                    Err(e) => Err(self.exchange_error(&e)),
                }
            }
            ("poll", 0) => match self.poll_status().await {
                Ok(x) => Ok(ActionOutcome::Polled {
                    status: x.reply.status_word().to_string(),
                    round_trip_us: u64::try_from(x.round_trip.as_micros()).unwrap_or(u64::MAX),
                }),
                Err(e) => Err(self.exchange_error(&e)),
            },
            ("read", 1 | 2) => {
                let Some((pnu, index)) = parse_param(arg(0), arg(1)) else {
                    return Err(self.core.bad_argument("usage: read PNU [INDEX]"));
                };
                let (_, value) = self.read_param(pnu, index).await?;
                Ok(ActionOutcome::Parameter { pnu, index, value })
            }
            ("write", 2 | 3) => {
                let Some((pnu, index)) = parse_param(arg(0), arg(2)) else {
                    return Err(self.core.bad_argument("usage: write PNU VALUE [INDEX]"));
                };
                let (_, value) = self.write_param(pnu, index, &args[1]).await?;
                Ok(ActionOutcome::Parameter { pnu, index, value })
            }
            _ => Err(HubError::UnknownAction {
                device: self.core.name.to_string(),
                action: name.into(),
                args: args.len(),
                known: ACTIONS.iter().map(ToString::to_string).collect(),
            }),
        }
    }
}

const ACTIONS: &[&str] = &[
    "reset",
    "poll",
    "read PNU [INDEX]",
    "write PNU VALUE [INDEX]",
];

fn parse_param(pnu: Option<&str>, index: Option<&str>) -> Option<(u16, u8)> {
    let pnu = pnu?.parse().ok()?;
    let index = match index {
        Some(i) => i.parse().ok()?,
        None => 0,
    };
    Some((pnu, index))
}
