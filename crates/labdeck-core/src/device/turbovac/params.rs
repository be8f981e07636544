//! Parameter access by number and index (§3, §7): reads and writes carry
//! the keep-alive word so they never let a running pump time out.

use super::{PumpDriver, props};
use crate::device::{PropState, Value};
use crate::error::HubError;
use crate::protocol::turbovac::{
    AccessCode, ControlWord, ParamFormat, ParamValue, ResponseCode, Telegram, param_error_name,
    param_table,
};

impl PumpDriver {
    pub(super) async fn read_setpoint(&mut self) {
        let limit = |r: Result<(Telegram, ParamValue), HubError>| r.ok().map(|(_, v)| v.as_f64());
        let max = limit(self.read_param(18, 0).await);
        let min = limit(self.read_param(19, 0).await);
        if let Some(change) = self.core.sheet.redefine(props::SETPOINT, |d| {
            d.min = min;
            d.max = max;
        }) {
            self.core.apply([change]);
        }
        if let Ok((_, value)) = self.read_param(24, 0).await {
            self.core
                .set(props::SETPOINT, Value::from(value.as_i64()), PropState::Ok);
        }
        self.publish_snapshot();
    }

    /// Read a parameter; the query carries the keep-alive word.
    pub(super) async fn read_param(
        &mut self,
        pnu: u16,
        index: u8,
    ) -> Result<(Telegram, ParamValue), HubError> {
        let def = param_table().get(pnu).ok_or_else(|| {
            self.core
                .bad_argument(format!("unknown parameter number {pnu}"))
        })?;
        let access = if def.is_indexed() {
            AccessCode::ReadField
        } else {
            AccessCode::Read
        };
        self.param_exchange(
            Telegram::query(self.keep_alive_word(), access, pnu, index, 0),
            def.format,
        )
        .await
    }

    pub(super) async fn write_param(
        &mut self,
        pnu: u16,
        index: u8,
        text: &str,
    ) -> Result<(Telegram, ParamValue), HubError> {
        let def = param_table().get(pnu).ok_or_else(|| {
            self.core
                .bad_argument(format!("unknown parameter number {pnu}"))
        })?;
        let value: f64 = text
            .parse()
            .map_err(|_| self.core.bad_argument(format!("{text:?} is not a number")))?;
        if !def.format.fits(value) {
            return Err(self.core.bad_argument(format!(
                "{value} does not fit P{pnu}'s format {}",
                def.format
            )));
        }
        let value = match def.format {
            ParamFormat::Real32 => ParamValue::Float(value as f32),
            _ => ParamValue::Int(value as i64),
        };
        let access = match (def.format.width(), def.is_indexed()) {
            (16, false) => AccessCode::Write16,
            (16, true) => AccessCode::Write16Field,
            (_, false) => AccessCode::Write32,
            (_, true) => AccessCode::Write32Field,
        };
        let pwe = def.format.encode(value);
        self.param_exchange(
            Telegram::query(self.keep_alive_word(), access, pnu, index, pwe),
            def.format,
        )
        .await
    }

    pub(super) async fn param_exchange(
        &mut self,
        query: Telegram,
        format: ParamFormat,
    ) -> Result<(Telegram, ParamValue), HubError> {
        let exchange = match self.exchange(&query).await {
            Ok(exchange) => exchange,
            Err(super::ExchangeError::NotConnected) => return Err(self.core.link_down()),
            Err(e) => return Err(self.core.exchange_failed(format!("P{}: {e}", query.pnu))),
        };
        let reply = exchange.reply;
        self.apply_status(&reply);
        match reply.response_code() {
            ResponseCode::Error | ResponseCode::NoWrite => Err(self.core.refused(format!(
                "pump refused P{}[{}]: error {} ({})",
                query.pnu,
                query.index,
                reply.pwe,
                param_error_name(reply.pwe)
            ))),
            _ => Ok((reply, format.decode(reply.pwe))),
        }
    }

    /// ON|COMMAND while the pump should run, so parameter access does not
    /// let it time out; a plain poll otherwise.
    pub(super) fn keep_alive_word(&self) -> u16 {
        if self.wanted_on == Some(true) {
            ControlWord::RUN.0
        } else {
            ControlWord::POLL.0
        }
    }
}
