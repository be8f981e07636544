//! The TURBOVAC pump model: parameter memory, control-word semantics, rotor
//! and thermal model, error memory and warnings. Pure: time comes in as an
//! argument, so tests drive it with any clock (`specs/turbovac.md` §8–§10).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::protocol::turbovac::{
    ControlWord, ParamNumber, ParamTable, ParamValue, StatusWord, Telegram, param_table,
};

mod access;
mod settings;

pub use settings::{ModelFaults, Profile, PumpConfig};

/// Parameter error numbers carried in the PWE of an AK 7 reply (§4).
pub mod param_error {
    pub const WRONG_NUM: u32 = 0;
    pub const CANNOT_CHANGE: u32 = 1;
    pub const MINMAX: u32 = 2;
    pub const INDEX: u32 = 3;
    pub const ACCESS: u32 = 5;
    pub const SAVING: u32 = 102;
}

/// Pump error codes the fault catalogue raises.
pub mod pump_error {
    pub const CONVERTER_TEMPERATURE: u16 = 5;
}

const P_FREQUENCY: ParamNumber = 3;
const P_VOLTAGE: ParamNumber = 4;
const P_CURRENT: ParamNumber = 5;
const P_SAVE: ParamNumber = 8;
const P_TEMPERATURE: ParamNumber = 11;
const P_NOMINAL_CURRENT: ParamNumber = 17;
const P_SETPOINT: ParamNumber = 24;
const P_NORMAL_THRESHOLD: ParamNumber = 25;
const P_START_COUNT: ParamNumber = 38;
const P_ERROR_COUNT: ParamNumber = 40;
const P_STANDBY: ParamNumber = 150;
const P_ERROR_MEMORY: ParamNumber = 171;
const P_ERROR_FREQUENCY: ParamNumber = 174;
const P_ERROR_HOURS: ParamNumber = 176;
const P_RESPONSE_DELAY: ParamNumber = 180;
const P_HOURS: ParamNumber = 184;
const P_WARNINGS: ParamNumber = 227;
const P_TEMP_WARNING: ParamNumber = 1101;
const P_TEMP_ERROR: ParamNumber = 1102;

/// P227 warning bits that are temperature warnings (set ZSW TEMP_WARNING).
const TEMPERATURE_WARNING_BITS: u16 = 0b0011_0000_1000_0111;
/// P227 bit of the overload warning (sets ZSW OVERLOAD).
const OVERLOAD_WARNING_BIT: u8 = 11;

/// What the console shows of the simulated pump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PumpState {
    pub profile: Profile,
    pub on: bool,
    pub frequency: f64,
    pub goal: f64,
    pub temperature: f64,
    pub current: f64,
    pub voltage: f64,
    pub status: u16,
    pub error: Option<u16>,
    pub warnings: u16,
    pub outputs: u16,
    pub telegrams: u64,
}

/// The simulated pump.
#[derive(Debug, Clone)]
pub struct PumpModel {
    cfg: PumpConfig,
    table: &'static ParamTable,
    values: BTreeMap<ParamNumber, Vec<u32>>,
    on: bool,
    frequency: f64,
    setpoint_override: Option<f64>,
    standby: bool,
    reached_normal: bool,
    last_on_command: Option<Instant>,
    next_tick: Instant,
    latched_error: Option<u16>,
    reset_level: bool,
    saving_until: Option<Instant>,
    temperature: f64,
    current: f64,
    voltage: f64,
    powered: Duration,
    outputs: u16,
    faults: ModelFaults,
    telegrams: u64,
    noise: u64,
}

impl PumpModel {
    pub fn new(cfg: PumpConfig, now: Instant) -> Self {
        let table = param_table();
        let realistic = cfg.profile == Profile::Realistic;
        let mut values = BTreeMap::new();
        for def in table.iter() {
            let slots = (0..def.slots())
                .map(|slot| def.format.encode(value_of(def.default_value(slot))))
                .collect();
            values.insert(def.number, slots);
        }
        let mut model = Self {
            table,
            values,
            on: false,
            frequency: 0.0,
            setpoint_override: None,
            standby: false,
            reached_normal: false,
            last_on_command: None,
            next_tick: now + cfg.tick,
            latched_error: None,
            reset_level: false,
            saving_until: None,
            temperature: if realistic { cfg.ambient } else { 0.0 },
            current: 0.0,
            voltage: if realistic {
                f64::from(cfg.on_voltage)
            } else {
                0.0
            },
            powered: Duration::ZERO,
            outputs: 0,
            faults: ModelFaults::default(),
            telegrams: 0,
            noise: 0x9e37_79b9_7f4a_7c15,
            cfg,
        };
        if realistic {
            // Measured on the real pump (§8 item 4).
            model.store(18, 0, 1200);
            model.store(19, 0, 750);
        }
        model.update_hardware_params();
        model
    }

    pub fn config(&self) -> &PumpConfig {
        &self.cfg
    }

    pub fn faults(&self) -> ModelFaults {
        self.faults
    }

    pub fn set_faults(&mut self, faults: ModelFaults, now: Instant) {
        self.advance(now);
        self.faults = faults;
        if self.cfg.profile == Profile::Compat && faults.overtemp {
            // Compat has no thermal model: the converter is hot at once.
            self.raise_error(pump_error::CONVERTER_TEMPERATURE);
        }
        self.update_hardware_params();
    }

    /// Run every rotor tick due up to `now`.
    pub fn advance(&mut self, now: Instant) {
        // Bound the catch-up work after a long pause; the rotor has long
        // settled by then.
        const MAX_TICKS: u32 = 36_000;
        let mut ticks = 0;
        while self.next_tick <= now {
            if ticks == MAX_TICKS {
                let behind = now.duration_since(self.next_tick);
                let skip = (behind.as_nanos() / self.cfg.tick.as_nanos().max(1)) as u32 + 1;
                self.next_tick += self.cfg.tick * skip;
                break;
            }
            let at = self.next_tick;
            self.tick(at);
            self.next_tick += self.cfg.tick;
            ticks += 1;
        }
    }

    /// When the next rotor tick is due.
    pub fn next_tick(&self) -> Instant {
        self.next_tick
    }

    /// Process one query and build the reply (§2.1, §5, §7.1).
    pub fn handle(&mut self, query: &Telegram, now: Instant) -> Telegram {
        self.advance(now);
        self.telegrams += 1;
        let stw = query.control_word();
        let command = stw.has(ControlWord::COMMAND);
        // The real pump reports the state it had when the telegram arrived.
        let status_before = self.status_word(command);

        self.apply_control(stw, query.pzd[1], now);
        self.update_hardware_params();
        let (code, pwe) = self.access(query, now);
        let status = match self.cfg.profile {
            Profile::Compat => self.status_word(command),
            Profile::Realistic => self.flicker(status_before),
        };
        let value = |pnu| self.raw(pnu, 0);
        Telegram {
            address: 0,
            ak: code.bits(),
            spm: false,
            pnu: query.pnu,
            index_high: 0,
            index: query.index,
            pwe,
            pzd: [
                status,
                value(P_FREQUENCY) as u16,
                value(P_TEMPERATURE) as u16,
                value(P_CURRENT) as u16,
                0,
                value(P_VOLTAGE) as u16,
            ],
        }
    }

    /// How long the reply takes on a real 19200 baud line (realistic
    /// profile with wire timing): both telegrams plus the P180 delay.
    pub fn wire_delay(&self) -> Option<Duration> {
        (self.cfg.profile == Profile::Realistic && self.cfg.wire_timing).then(|| {
            const TELEGRAM_WIRE_TIME: Duration = Duration::from_micros(13_750);
            let turnaround = Duration::from_millis(u64::from(self.raw(P_RESPONSE_DELAY, 0)));
            TELEGRAM_WIRE_TIME * 2 + turnaround
        })
    }

    pub fn state(&self) -> PumpState {
        PumpState {
            profile: self.cfg.profile,
            on: self.on,
            frequency: self.frequency,
            goal: self.goal(),
            temperature: self.reported_temperature(),
            current: f64::from(self.raw(P_CURRENT, 0)) / 10.0,
            voltage: f64::from(self.raw(P_VOLTAGE, 0)),
            status: self.status_word(false),
            error: self.latched_error,
            warnings: self.warnings(),
            outputs: self.outputs,
            telegrams: self.telegrams,
        }
    }

    /// Raw value of a parameter slot (0 for unknown parameters).
    pub fn raw(&self, pnu: ParamNumber, slot: usize) -> u32 {
        self.values
            .get(&pnu)
            .and_then(|v| v.get(slot))
            .copied()
            .unwrap_or(0)
    }

    fn store(&mut self, pnu: ParamNumber, slot: usize, raw: u32) {
        if let Some(slot) = self.values.get_mut(&pnu).and_then(|v| v.get_mut(slot)) {
            *slot = raw;
        }
    }

    fn value(&self, pnu: ParamNumber) -> f64 {
        self.table
            .get(pnu)
            .map_or(0.0, |def| def.format.decode(self.raw(pnu, 0)).as_f64())
    }

    fn apply_control(&mut self, stw: ControlWord, pzd2: u16, now: Instant) {
        let command = stw.has(ControlWord::COMMAND);
        let reset = command && stw.has(ControlWord::RESET_ERROR);
        if reset && !self.reset_level {
            self.latched_error = None;
        }
        self.reset_level = reset;
        self.setpoint_override = None;
        if !command {
            return;
        }
        if stw.has(ControlWord::ON) {
            self.last_on_command = Some(now);
            if !self.on && self.latched_error.is_none() {
                self.on = true;
                self.bump(P_START_COUNT);
            }
        } else {
            self.on = false;
        }
        if stw.has(ControlWord::SETPOINT) {
            // Errata: PZD2 overrides P24 until the next telegram, limited by
            // P24's own min/max, without an error.
            let (lo, hi) = self.limits(P_SETPOINT);
            self.setpoint_override = Some(f64::from(pzd2).clamp(lo.min(hi), hi));
        }
        self.standby = stw.has(ControlWord::STANDBY);
        self.outputs = stw.0
            & (ControlWord::X201
                | ControlWord::X202
                | ControlWord::X203
                | ControlWord::X1_ERROR
                | ControlWord::X1_NORMAL_OP
                | ControlWord::X1_WARNING
                | ControlWord::STANDBY);
    }

    fn goal(&self) -> f64 {
        if !self.on {
            return 0.0;
        }
        let setpoint = match self.setpoint_override {
            Some(sp) => sp,
            None if self.standby => self.value(P_STANDBY),
            None => self.value(P_SETPOINT),
        };
        if self.faults.overload {
            setpoint * self.cfg.stall_fraction
        } else {
            setpoint
        }
    }

    fn normal_threshold(&self) -> f64 {
        self.value(P_SETPOINT) * self.value(P_NORMAL_THRESHOLD) / 100.0
    }

    fn tick(&mut self, at: Instant) {
        let dt = self.cfg.tick.as_secs_f64();
        if self.on
            && self
                .last_on_command
                .is_none_or(|t| at.duration_since(t) > self.cfg.auto_off)
        {
            self.on = false;
        }
        let goal = self.goal();
        if self.frequency < goal {
            self.frequency = (self.frequency + self.cfg.ramp_rate * dt).min(goal);
        } else if self.frequency > goal {
            self.frequency = (self.frequency - self.cfg.decel_rate * dt).max(goal);
        }
        if !self.on {
            self.reached_normal = false;
        } else if self.frequency >= self.normal_threshold() {
            self.reached_normal = true;
        }
        if self.cfg.profile == Profile::Realistic {
            self.physics(dt, goal);
            self.powered += self.cfg.tick;
            let hours = (self.powered.as_secs() / 36) as u32;
            self.store(P_HOURS, 0, hours);
        }
        // The realistic converter trips whenever it is too hot (so a reset
        // only works once it has cooled down); compat has no thermal model.
        let too_hot = self.reported_temperature() >= self.value(P_TEMP_ERROR);
        if too_hot && (self.faults.overtemp || self.cfg.profile == Profile::Realistic) {
            self.raise_error(pump_error::CONVERTER_TEMPERATURE);
        }
        self.update_hardware_params();
    }

    /// Realistic profile: current from acceleration and load, voltage sag,
    /// first-order converter temperature.
    fn physics(&mut self, dt: f64, goal: f64) {
        let nominal = self.value(P_NOMINAL_CURRENT) / 10.0;
        let relative = self.frequency / 1000.0;
        let load = if self.faults.overload { nominal } else { 0.0 };
        self.current = if !self.on {
            0.0
        } else if self.frequency < goal - 0.5 {
            (0.8 * nominal + load).min(nominal)
        } else {
            (0.4 + 1.2 * relative * relative + load).min(nominal)
        };
        self.voltage = f64::from(self.cfg.on_voltage) - 0.15 * self.current;
        let (target, tau) = if self.faults.overtemp {
            (self.value(P_TEMP_ERROR) + 20.0, 2.0)
        } else {
            (self.cfg.ambient + 6.0 * self.current + 5.0 * relative, 20.0)
        };
        self.temperature += (target - self.temperature) * (dt / tau).min(1.0);
    }

    fn reported_temperature(&self) -> f64 {
        match self.cfg.profile {
            Profile::Realistic => self.temperature,
            Profile::Compat if self.faults.overtemp => self.value(P_TEMP_ERROR) + 5.0,
            Profile::Compat if self.on => f64::from(self.cfg.on_temperature),
            Profile::Compat => 0.0,
        }
    }

    /// Mirror the hardware state into P3/P4/P5/P11 (and so PZD2–PZD6).
    fn update_hardware_params(&mut self) {
        let (temperature, current, voltage) = match self.cfg.profile {
            Profile::Realistic => (
                self.temperature.round(),
                (self.current * 10.0).round(),
                self.voltage.round(),
            ),
            Profile::Compat => {
                let on = self.on;
                (
                    self.reported_temperature(),
                    if on {
                        f64::from(self.cfg.on_current)
                    } else {
                        0.0
                    },
                    if on {
                        f64::from(self.cfg.on_voltage)
                    } else {
                        0.0
                    },
                )
            }
        };
        let current = if self.cfg.profile == Profile::Compat && self.faults.overload && self.on {
            current * 3.0
        } else {
            current
        };
        self.store(P_FREQUENCY, 0, self.frequency.max(0.0) as u32);
        self.store(P_TEMPERATURE, 0, u32::from(temperature as i16 as u16));
        self.store(P_CURRENT, 0, current as u32);
        self.store(P_VOLTAGE, 0, voltage as u32);
        let warnings = self.warnings();
        self.store(P_WARNINGS, 0, u32::from(warnings));
    }

    fn warnings(&self) -> u16 {
        let mut bits = 0u16;
        if let Some(bit) = self.faults.warning_bit {
            bits |= 1 << (bit & 15);
        }
        // Below the normal-operation threshold after having reached it, or
        // while braked by an overload.
        if self.on
            && (self.reached_normal || self.faults.overload)
            && self.frequency < self.normal_threshold()
        {
            bits |= 1 << OVERLOAD_WARNING_BIT;
        }
        bits
    }

    fn status_word(&self, command: bool) -> u16 {
        let mut z = StatusWord::PARAM_CHANNEL;
        if command {
            z |= StatusWord::PROCESS_CHANNEL;
        }
        z |= if self.on {
            StatusWord::OPERATION
        } else {
            StatusWord::READY
        };
        if self.raw(P_FREQUENCY, 0) != 0 {
            z |= StatusWord::TURNING;
        }
        let goal = self.goal();
        if self.frequency < goal {
            z |= StatusWord::ACCELERATION;
        } else if self.frequency > goal {
            z |= StatusWord::DECELERATION;
        }
        if self.latched_error.is_some() {
            z |= StatusWord::ERROR | StatusWord::SWITCH_ON_LOCK;
        }
        let warnings = self.warnings();
        if warnings != 0 {
            z |= StatusWord::WARNING;
        }
        if warnings & TEMPERATURE_WARNING_BITS != 0
            || self.reported_temperature() >= self.value(P_TEMP_WARNING)
        {
            z |= StatusWord::TEMP_WARNING | StatusWord::WARNING;
        }
        if warnings & (1 << OVERLOAD_WARNING_BIT) != 0 {
            z |= StatusWord::OVERLOAD;
        }
        z
    }

    fn flicker(&mut self, status: u16) -> u16 {
        if !self.cfg.flicker {
            return status;
        }
        // xorshift64: DETAINED and bit 8 appear now and then (§6).
        self.noise ^= self.noise << 13;
        self.noise ^= self.noise >> 7;
        self.noise ^= self.noise << 17;
        let mut z = status;
        if self.noise.is_multiple_of(4) {
            z |= StatusWord::DETAINED;
        }
        if self.noise % 16 == 1 {
            z |= StatusWord::BIT8;
        }
        z
    }

    fn raise_error(&mut self, code: u16) {
        if self.latched_error == Some(code) {
            return;
        }
        if let Some(memory) = self.values.get_mut(&P_ERROR_MEMORY) {
            memory.rotate_right(1);
            memory[0] = u32::from(code);
        }
        let frequency = self.raw(P_FREQUENCY, 0);
        self.store(P_ERROR_FREQUENCY, 0, frequency);
        let hours = self.raw(P_HOURS, 0);
        self.store(P_ERROR_HOURS, 0, hours);
        self.bump(P_ERROR_COUNT);
        self.latched_error = Some(code);
        self.on = false;
    }

    fn bump(&mut self, pnu: ParamNumber) {
        let next = self.raw(pnu, 0).saturating_add(1).min(u32::from(u16::MAX));
        self.store(pnu, 0, next);
    }
}

fn value_of(default: f64) -> ParamValue {
    if default.fract() == 0.0 && default.abs() < 9.0e15 {
        ParamValue::Int(default as i64)
    } else {
        ParamValue::Float(default as f32)
    }
}
