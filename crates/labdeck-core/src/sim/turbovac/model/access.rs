//! Parameter access in the order of §7.1, with `Pnn` limits resolved live.

use std::time::Duration;

use tokio::time::Instant;

use super::{P_SAVE, Profile, PumpModel, param_error};
use crate::protocol::turbovac::{AccessCode, Limit, ParamDef, ParamNumber, ResponseCode, Telegram};

impl PumpModel {
    pub(super) fn limits(&self, pnu: ParamNumber) -> (f64, f64) {
        match self.table.get(pnu) {
            Some(def) => (self.resolve(def.min), self.resolve(def.max)),
            None => (f64::NEG_INFINITY, f64::INFINITY),
        }
    }

    pub(super) fn resolve(&self, limit: Limit) -> f64 {
        match limit {
            Limit::Value(v) => v,
            Limit::Param(pnu) => self.value(pnu),
        }
    }

    pub(super) fn writable(&self, def: &ParamDef) -> bool {
        match (self.cfg.profile, def.number) {
            // The real pump's P1, P18 and P19 are read-only (§8 items 4–5).
            (Profile::Realistic, 1 | 18 | 19) => false,
            _ => def.writable,
        }
    }

    /// Parameter access in the order of §7.1; returns the response code and PWE.
    pub(super) fn access(&mut self, query: &Telegram, now: Instant) -> (ResponseCode, u32) {
        use param_error::{ACCESS, CANNOT_CHANGE, INDEX, MINMAX, SAVING};
        let ak = query.access_code();
        if matches!(ak, AccessCode::None | AccessCode::Unknown(_)) {
            return (ResponseCode::None, query.pwe);
        }
        let error = |n| (ResponseCode::Error, n);
        let Some(def) = self.table.get(query.pnu) else {
            return error(self.unknown_parameter_error(ak, query.index));
        };
        if ak.write_width().is_some_and(|w| w != def.format.width()) {
            return error(ACCESS);
        }
        if ak.is_field() && !def.is_indexed() {
            return error(ACCESS);
        }
        if !ak.is_field() && def.is_indexed() && query.index != 0 {
            return error(ACCESS);
        }
        let Some(slot) = def.slot(query.index) else {
            return error(INDEX);
        };
        if ak.is_write() {
            if !self.writable(def) {
                return error(CANNOT_CHANGE);
            }
            if self.saving_until.is_some_and(|until| now < until) {
                return error(SAVING);
            }
            let value = def.format.decode(query.pwe);
            let (lo, hi) = (self.resolve(def.min), self.resolve(def.max));
            let v = value.as_f64();
            if !(lo <= v && v <= hi) {
                return error(MINMAX);
            }
            self.store(def.number, slot, def.format.encode(value));
            if def.number == P_SAVE && self.cfg.profile == Profile::Realistic {
                self.saving_until = Some(now + Duration::from_millis(200));
            }
        }
        let code = ResponseCode::for_value(def.format.width(), ak.is_field());
        (code, self.raw(def.number, slot))
    }

    pub(super) fn unknown_parameter_error(&self, ak: AccessCode, index: u8) -> u32 {
        use param_error::{ACCESS, INDEX, WRONG_NUM};
        // The realistic profile reproduces the real pump's answers for P9
        // (§8 item 6); the PNU is not in the table either way.
        if self.cfg.profile != Profile::Realistic {
            return WRONG_NUM;
        }
        match (ak.is_write(), index) {
            (false, _) => ACCESS,
            (true, 0) => WRONG_NUM,
            (true, _) => INDEX,
        }
    }
}
