//! The device thread: simulators, links, connection managers and drivers
//! run on one single-threaded tokio runtime of their own. A round trip
//! between a driver and a simulator (or an instrument) then passes no task
//! from one worker thread to another — each such hand-off is a wake-up
//! through the kernel, and on a two-core machine those cost more than the
//! round trip itself. Front ends stay on the caller's runtime, so drawing
//! the console or serving INDI clients never delays an exchange.

use std::future::Future;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
pub(super) struct DeviceThread {
    handle: Handle,
    stop: CancellationToken,
    thread: Option<JoinHandle<()>>,
}

impl DeviceThread {
    pub fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("labdeck-devices".into())
            .spawn(move || runtime.block_on(stopped.cancelled()))?;
        Ok(Self {
            handle,
            stop,
            thread: Some(thread),
        })
    }

    /// Run `future` on the device thread; its tasks and I/O belong there.
    pub async fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self.handle.spawn(future).await {
            Ok(output) => output,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => unreachable!("the device runtime stopped while building: {e}"),
        }
    }

    /// Stop the thread once its actors have finished, and wait for it.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for DeviceThread {
    /// A runtime dropped without shutdown takes its actors with it, as
    /// dropping a tokio runtime does.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
