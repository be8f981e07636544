//! The pump model beyond the captured vectors: realistic-profile semantics,
//! keep-alive, SETPOINT, errors and warnings, on a virtual clock.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::protocol::turbovac::{AccessCode, ControlWord, ResponseCode, StatusWord, Telegram};

struct Pump {
    model: PumpModel,
    now: Instant,
}

impl Pump {
    fn new(profile: Profile) -> Self {
        let now = Instant::now();
        Self {
            model: PumpModel::new(PumpConfig::for_profile(profile), now),
            now,
        }
    }

    fn wait(&mut self, secs: f64) {
        self.now += Duration::from_secs_f64(secs);
        self.model.advance(self.now);
    }

    fn send(&mut self, stw: u16) -> Telegram {
        self.model
            .handle(&Telegram::query(stw, AccessCode::None, 0, 0, 0), self.now)
    }

    fn write(&mut self, pnu: u16, value: u32) -> Telegram {
        let q = Telegram::query(0, AccessCode::Write16, pnu, 0, value);
        self.model.handle(&q, self.now)
    }

    fn read(&mut self, access: AccessCode, pnu: u16, index: u8) -> Telegram {
        self.model
            .handle(&Telegram::query(0, access, pnu, index, 0), self.now)
    }
}

#[test]
fn realistic_replies_show_the_state_before_the_command() {
    let mut pump = Pump::new(Profile::Realistic);
    let on = pump.send(ControlWord::RUN.0).status_word();
    assert!(
        on.has(StatusWord::READY) && !on.has(StatusWord::OPERATION),
        "{on}"
    );
    assert!(!on.has(StatusWord::ACCELERATION));
    pump.wait(0.05);
    let next = pump.send(ControlWord::RUN.0).status_word();
    assert!(
        next.has(StatusWord::OPERATION) && next.has(StatusWord::ACCELERATION),
        "{next}"
    );
    let off = pump.send(ControlWord::STOP.0).status_word();
    assert!(
        off.has(StatusWord::OPERATION),
        "the OFF reply still shows OPERATION: {off}"
    );
    // The compat profile reacts at once, like turboctl's simulator.
    let mut compat = Pump::new(Profile::Compat);
    assert!(
        compat
            .send(ControlWord::RUN.0)
            .status_word()
            .has(StatusWord::OPERATION)
    );
}

#[test]
fn realistic_limits_make_the_setpoint_writable() {
    let mut pump = Pump::new(Profile::Realistic);
    assert_eq!(pump.read(AccessCode::Read, 18, 0).pwe, 1200);
    assert_eq!(pump.read(AccessCode::Read, 19, 0).pwe, 750);
    let ok = pump.write(24, 900);
    assert_eq!((ok.response_code(), ok.pwe), (ResponseCode::S16, 900));
    let low = pump.write(24, 700);
    assert_eq!(
        (low.response_code(), low.pwe),
        (ResponseCode::Error, param_error::MINMAX)
    );
    for pnu in [1, 18, 19] {
        let r = pump.write(pnu, 800);
        assert_eq!(
            (r.response_code(), r.pwe),
            (ResponseCode::Error, param_error::CANNOT_CHANGE),
            "P{pnu}"
        );
    }
    // compat keeps turboctl's shipped defaults: no valid setpoint at all.
    let mut compat = Pump::new(Profile::Compat);
    assert_eq!(compat.write(24, 900).pwe, param_error::MINMAX);
}

#[test]
fn realistic_unknown_parameters_answer_like_the_real_pump() {
    let mut pump = Pump::new(Profile::Realistic);
    assert_eq!(pump.read(AccessCode::Read, 9, 0).pwe, param_error::ACCESS);
    assert_eq!(pump.write(9, 1).pwe, param_error::WRONG_NUM);
    let q = Telegram::query(0, AccessCode::Write16, 9, 2, 1);
    assert_eq!(pump.model.handle(&q, pump.now).pwe, param_error::INDEX);
    let mut compat = Pump::new(Profile::Compat);
    assert_eq!(
        compat.read(AccessCode::Read, 9, 0).pwe,
        param_error::WRONG_NUM
    );
}

#[test]
fn the_pump_switches_itself_off_without_keep_alive() {
    let mut pump = Pump::new(Profile::Compat);
    pump.send(ControlWord::RUN.0);
    // Status polls do not keep it alive…
    for _ in 0..9 {
        pump.wait(1.0);
        pump.send(ControlWord::POLL.0);
    }
    assert!(pump.model.state().on);
    pump.wait(1.2);
    assert!(!pump.model.state().on, "off after 10 s without ON");
    // …ON telegrams every second do.
    pump.send(ControlWord::RUN.0);
    for _ in 0..30 {
        pump.wait(1.0);
        pump.send(ControlWord::RUN.0);
    }
    assert!(pump.model.state().on);
}

#[test]
fn the_rotor_ramps_at_the_configured_rate_without_overshoot() {
    let mut pump = Pump::new(Profile::Compat);
    pump.send(ControlWord::RUN.0);
    pump.wait(1.0);
    let f = pump.model.state().frequency;
    assert!((90.0..=110.0).contains(&f), "{f} Hz after 1 s at 100 Hz/s");
    for _ in 0..12 {
        pump.wait(1.0);
        pump.send(ControlWord::RUN.0);
    }
    assert_eq!(pump.model.state().frequency, 1000.0);
    let reply = pump.send(ControlWord::RUN.0);
    let zsw = reply.status_word();
    assert!(
        zsw.has(StatusWord::TURNING) && !zsw.has(StatusWord::ACCELERATION),
        "{zsw}"
    );
    assert_eq!(reply.frequency(), 1000);
}

#[test]
fn setpoint_bit_overrides_p24_until_the_next_telegram() {
    let mut pump = Pump::new(Profile::Realistic);
    let word = ControlWord::RUN.0 | ControlWord::SETPOINT;
    let mut q = Telegram::query(word, AccessCode::None, 0, 0, 0);
    q.pzd[1] = 800;
    pump.model.handle(&q, pump.now);
    assert_eq!(pump.model.state().goal, 800.0);
    // Out of P24's range: clamped, no error.
    q.pzd[1] = 5000;
    pump.model.handle(&q, pump.now);
    assert_eq!(pump.model.state().goal, 1200.0);
    pump.send(ControlWord::RUN.0);
    assert_eq!(pump.model.state().goal, 1000.0, "back to P24");
}

#[test]
fn errors_are_remembered_and_reset_on_a_rising_edge() {
    let mut pump = Pump::new(Profile::Compat);
    pump.send(ControlWord::RUN.0);
    pump.wait(2.0);
    pump.model.set_faults(
        ModelFaults {
            overtemp: true,
            ..ModelFaults::default()
        },
        pump.now,
    );
    let zsw = pump.send(ControlWord::RUN.0).status_word();
    assert!(
        zsw.has(StatusWord::ERROR) && !zsw.has(StatusWord::OPERATION),
        "{zsw}"
    );
    assert_eq!(pump.read(AccessCode::ReadField, 171, 0).pwe, 5);
    assert_eq!(pump.read(AccessCode::Read, 40, 0).pwe, 1, "error counter");
    assert!(
        pump.read(AccessCode::Read, 174, 0).pwe >= 100,
        "frequency at the error"
    );
    // ON is refused while the error is latched.
    pump.wait(0.5);
    assert!(!pump.model.state().on);
    pump.model.set_faults(ModelFaults::default(), pump.now);
    let reset = ControlWord::reset_error(true).0;
    pump.send(reset);
    assert_eq!(pump.model.state().error, None);
    assert!(
        pump.model.state().on,
        "RESET_ERROR with ON keeps the pump running"
    );
    // Holding the bit is not a new edge; a second error stays latched.
    pump.model.set_faults(
        ModelFaults {
            overtemp: true,
            ..ModelFaults::default()
        },
        pump.now,
    );
    pump.model.set_faults(ModelFaults::default(), pump.now);
    pump.send(reset);
    assert_eq!(pump.model.state().error, Some(5));
    pump.send(ControlWord::RUN.0);
    pump.send(reset);
    assert_eq!(pump.model.state().error, None);
    // The memory shifts: newest first.
    assert_eq!(pump.read(AccessCode::ReadField, 171, 1).pwe, 5);
}

#[test]
fn warnings_set_p227_and_the_status_bits() {
    let mut pump = Pump::new(Profile::Compat);
    pump.model.set_faults(
        ModelFaults {
            warning_bit: Some(0),
            ..ModelFaults::default()
        },
        pump.now,
    );
    let zsw = pump.send(ControlWord::POLL.0).status_word();
    assert!(
        zsw.has(StatusWord::WARNING) && zsw.has(StatusWord::TEMP_WARNING),
        "{zsw}"
    );
    assert_eq!(pump.read(AccessCode::Read, 227, 0).pwe, 1);
    pump.model.set_faults(
        ModelFaults {
            warning_bit: Some(14),
            ..ModelFaults::default()
        },
        pump.now,
    );
    let zsw = pump.send(ControlWord::POLL.0).status_word();
    assert!(
        zsw.has(StatusWord::WARNING) && !zsw.has(StatusWord::TEMP_WARNING),
        "{zsw}"
    );
}

#[test]
fn overload_brakes_the_rotor_and_warns() {
    let mut pump = Pump::new(Profile::Realistic);
    pump.send(ControlWord::RUN.0);
    for _ in 0..12 {
        pump.wait(1.0);
        pump.send(ControlWord::RUN.0);
    }
    let normal_current = pump.model.state().current;
    pump.model.set_faults(
        ModelFaults {
            overload: true,
            ..ModelFaults::default()
        },
        pump.now,
    );
    for _ in 0..10 {
        pump.wait(1.0);
        pump.send(ControlWord::RUN.0);
    }
    let state = pump.model.state();
    assert!(state.frequency <= 300.0, "{}", state.frequency);
    assert!(
        state.current > normal_current,
        "{} vs {normal_current}",
        state.current
    );
    let zsw = StatusWord(state.status);
    assert!(
        zsw.has(StatusWord::OVERLOAD) && zsw.has(StatusWord::WARNING),
        "{zsw}"
    );
    assert_eq!(state.warnings & (1 << 11), 1 << 11);
}

#[test]
fn wire_timing_adds_two_telegrams_and_the_response_delay() {
    let mut cfg = PumpConfig::for_profile(Profile::Realistic);
    cfg.wire_timing = true;
    let model = PumpModel::new(cfg, Instant::now());
    assert_eq!(model.wire_delay(), Some(Duration::from_micros(37_500)));
    assert_eq!(Pump::new(Profile::Compat).model.wire_delay(), None);
}

#[test]
fn a_long_pause_is_caught_up_without_unbounded_work() {
    let mut pump = Pump::new(Profile::Compat);
    pump.send(ControlWord::RUN.0);
    pump.wait(48.0 * 3600.0);
    let state = pump.model.state();
    assert!(!state.on, "auto-off happened during the pause");
    assert!(pump.model.next_tick() > pump.now);
}
