//! Host-side backends (serial, disk, network), each on its own thread.

pub mod disk;
pub mod net;
pub mod script;
pub mod serial;
pub mod signals;
