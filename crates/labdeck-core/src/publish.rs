//! Where a layer reports what happened without knowing who listens: each
//! layer publishes its own event type through a [`Publisher`], and the
//! runtime's event bus (the top of the core) implements [`Publish`] for
//! all of them. This keeps every import pointing down.

use std::fmt::Debug;
use std::sync::Arc;

/// Takes events of one kind.
pub trait Publish<T>: Send + Sync + Debug {
    /// Hand over an event; nobody listening is not an error.
    fn publish(&self, event: T);
}

/// A shared publisher of `T`.
pub type Publisher<T> = Arc<dyn Publish<T>>;

/// Drops everything: for parts run without a bus.
#[derive(Debug, Clone, Copy, Default)]
pub struct Discard;

impl<T> Publish<T> for Discard {
    fn publish(&self, _event: T) {}
}
