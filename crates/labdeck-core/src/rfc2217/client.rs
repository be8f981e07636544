//! The client side: a link to a remote serial port server (ser2net with
//! `telnet(rfc2217)`, labgrid, `labdeck rfc2217`). Opening negotiates the
//! COM port option and the link's settings; a server that answers a
//! setting or a purge slowly or never costs at most
//! [`ANSWER_WAIT`], is logged, and the link goes on (labgrid#1779,
//! ser2net#116). Afterwards the stream is plain bytes to the driver:
//! 255s are escaped and unescaped, negotiation is answered, and the
//! server's notifications (modem and line state) are logged.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures::future::BoxFuture;
use labdeck_protocol::rfc2217::{
    BINARY, COM_PORT_OPTION, ComPort, Options, Parity as WireParity, SGA, TelnetDecoder,
    TelnetEvent, Verb, control, escape, purge,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use crate::link::{
    ConnectError, FlowControl, Opener, Parity, SerialSettings, Transport, TransportKind,
};

/// How long opening waits for the server's answers to the settings and
/// the purge, all together.
pub const ANSWER_WAIT: Duration = Duration::from_secs(1);

/// Opens RFC 2217 links.
#[derive(Debug, Clone)]
pub struct Rfc2217Opener {
    address: String,
    settings: SerialSettings,
    answer_wait: Duration,
}

impl Rfc2217Opener {
    pub fn new(address: impl Into<String>, settings: SerialSettings) -> Self {
        Self {
            address: address.into(),
            settings,
            answer_wait: ANSWER_WAIT,
        }
    }

    /// Wait this long for answers instead of [`ANSWER_WAIT`].
    #[must_use]
    pub fn answer_wait(mut self, wait: Duration) -> Self {
        self.answer_wait = wait;
        self
    }
}

impl Opener for Rfc2217Opener {
    fn kind(&self) -> TransportKind {
        TransportKind::Rfc2217
    }

    fn endpoint(&self) -> String {
        format!("rfc2217://{}", self.address)
    }

    fn open(&self) -> BoxFuture<'static, Result<Transport, ConnectError>> {
        let opener = self.clone();
        Box::pin(async move {
            let address = opener.address.clone();
            let mut tcp = TcpStream::connect(&address)
                .await
                .map_err(|e| ConnectError::from_io(&address, &e))?;
            let _ = tcp.set_nodelay(true);
            let endpoint = tcp
                .peer_addr()
                .map_or_else(|_| address.clone(), |a| format!("rfc2217://{a}"));
            let io_error = |e: io::Error| ConnectError::from_io(&address, &e);
            let requests = requests(&opener.settings);
            let mut options = Options::new();
            let mut hello = Vec::new();
            for (verb, option) in [
                (Verb::Will, COM_PORT_OPTION),
                (Verb::Do, COM_PORT_OPTION),
                (Verb::Will, BINARY),
                (Verb::Do, BINARY),
                (Verb::Do, SGA),
            ] {
                hello.extend(options.offer(verb, option));
            }
            for request in &requests {
                hello.extend(request.encode(false));
            }
            tcp.write_all(&hello).await.map_err(io_error)?;
            let mut stream = Rfc2217Stream::new(tcp, address.clone(), options);
            let unanswered = stream.await_answers(requests, opener.answer_wait).await;
            let unanswered = unanswered.map_err(io_error)?;
            if !unanswered.is_empty() {
                tracing::warn!(
                    "{address}: the RFC 2217 server did not answer {} within {:?}; going on",
                    unanswered.join(", "),
                    opener.answer_wait
                );
            }
            Ok(Transport {
                stream: Box::new(stream),
                endpoint,
            })
        })
    }
}

/// What opening asks of the server, in order: the settings, flow
/// control, then a purge of both buffers.
fn requests(settings: &SerialSettings) -> Vec<ComPort> {
    let parity = match settings.parity {
        Parity::None => WireParity::None,
        Parity::Odd => WireParity::Odd,
        Parity::Even => WireParity::Even,
    };
    let flow = match settings.flow_control {
        FlowControl::None => control::NO_FLOW,
        FlowControl::Software => control::XON_XOFF,
        FlowControl::Hardware => control::HARDWARE,
    };
    vec![
        ComPort::SetBaudRate(settings.baud),
        ComPort::SetDataSize(settings.data_bits.0),
        ComPort::SetParity(parity),
        ComPort::SetStopSize(settings.stop_bits.0),
        ComPort::SetControl(flow),
        ComPort::PurgeData(purge::BOTH),
    ]
}

fn name(command: &ComPort) -> &'static str {
    match command {
        ComPort::SetBaudRate(_) => "the baud rate",
        ComPort::SetDataSize(_) => "the data size",
        ComPort::SetParity(_) => "the parity",
        ComPort::SetStopSize(_) => "the stop size",
        ComPort::SetControl(_) => "the flow control",
        ComPort::PurgeData(_) => "the purge",
        _ => "a request",
    }
}

/// Whether `answer` (from the server) answers `request`.
fn answers(answer: &ComPort, request: &ComPort) -> bool {
    std::mem::discriminant(answer) == std::mem::discriminant(request)
}

/// An open RFC 2217 connection as a byte stream.
#[derive(Debug)]
pub struct Rfc2217Stream {
    tcp: TcpStream,
    address: String,
    decoder: TelnetDecoder,
    /// Payload decoded but not yet read.
    data: Vec<u8>,
    /// Bytes for the server not yet written (escaped data, answers).
    out: Vec<u8>,
    options: Options,
}

impl Rfc2217Stream {
    fn new(tcp: TcpStream, address: String, options: Options) -> Self {
        Self {
            tcp,
            address,
            decoder: TelnetDecoder::new(),
            data: Vec::new(),
            out: Vec::new(),
            options,
        }
    }

    /// Read until every request is answered or `wait` is over; the names
    /// of those left unanswered. Data that arrives meanwhile is kept.
    async fn await_answers(
        &mut self,
        mut waiting: Vec<ComPort>,
        wait: Duration,
    ) -> io::Result<Vec<&'static str>> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut buf = [0u8; 1024];
        while !waiting.is_empty() {
            let read = tokio::time::timeout_at(deadline, self.tcp.read(&mut buf)).await;
            let n = match read {
                Err(_) => break,
                Ok(Ok(0)) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(e),
            };
            for answer in self.take(&buf[..n]) {
                if let Some(at) = waiting.iter().position(|r| answers(&answer, r)) {
                    if answer != waiting[at] {
                        tracing::info!(
                            "{}: the RFC 2217 server set {:?} for {:?}",
                            self.address,
                            answer,
                            waiting[at]
                        );
                    }
                    waiting.remove(at);
                }
            }
            if !self.out.is_empty() {
                let out = std::mem::take(&mut self.out);
                self.tcp.write_all(&out).await?;
            }
        }
        Ok(waiting.iter().map(name).collect())
    }

    /// Decode bytes from the server: data is kept, negotiation answered
    /// (into `out`), COM port answers returned.
    fn take(&mut self, bytes: &[u8]) -> Vec<ComPort> {
        let mut answers = Vec::new();
        for event in self.decoder.push(bytes) {
            match event {
                TelnetEvent::Data(data) => self.data.extend_from_slice(&data),
                TelnetEvent::Negotiate(verb, option) => {
                    if let Some(answer) = self.options.answer(verb, option) {
                        self.out.extend(answer);
                    }
                }
                TelnetEvent::Subnegotiation(COM_PORT_OPTION, payload) => {
                    match ComPort::parse(&payload, true) {
                        Ok(ComPort::NotifyModemState(bits)) => {
                            tracing::debug!("{}: modem state {bits:#04x}", self.address);
                        }
                        Ok(ComPort::NotifyLineState(bits)) => {
                            tracing::debug!("{}: line state {bits:#04x}", self.address);
                        }
                        Ok(answer) => answers.push(answer),
                        Err(e) => tracing::debug!("{}: {e}", self.address),
                    }
                }
                TelnetEvent::Subnegotiation(..) | TelnetEvent::Command(_) => {}
            }
        }
        answers
    }

    /// Write what is queued for the server, as far as the socket takes it.
    fn poll_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Rfc2217Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            // Answers and data queued for the server go out while the
            // driver waits for its reply.
            if let Poll::Ready(Err(e)) = this.poll_out(cx) {
                return Poll::Ready(Err(e));
            }
            if !this.data.is_empty() {
                let n = this.data.len().min(buf.remaining());
                buf.put_slice(&this.data[..n]);
                this.data.drain(..n);
                return Poll::Ready(Ok(()));
            }
            let mut raw = [0u8; 4096];
            let mut raw_buf = ReadBuf::new(&mut raw);
            ready!(Pin::new(&mut this.tcp).poll_read(cx, &mut raw_buf))?;
            if raw_buf.filled().is_empty() {
                return Poll::Ready(Ok(())); // EOF
            }
            let filled = raw_buf.filled().to_vec();
            // Late answers (a slow server) need nothing more.
            let _ = this.take(&filled);
        }
    }
}

impl AsyncWrite for Rfc2217Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // Bounded: what was queued before goes first.
        ready!(this.poll_out(cx))?;
        this.out.extend(escape(buf));
        // Taken: it goes out now or with the next poll.
        let _ = this.poll_out(cx);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_out(cx))?;
        Pin::new(&mut this.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_out(cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}
