//! labdeck's core: links, connection managers, drivers, simulators, tasks,
//! the runtime and its Hub. It knows no screen.

use labdeck_protocol as protocol;

pub mod bus;
pub mod config;
pub mod connection;
pub mod device;
pub mod link;
pub mod reply;
pub mod runtime;
pub mod server;
pub mod sim;
