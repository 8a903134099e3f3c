//! User-mode networking, like QEMU's `-netdev user`: Debian's libslirp on a
//! thread of its own (see `docs/emu-net.md`).
//!
//! - [`attach`]: NIC + backend from the options (no backend in replay);
//! - [`options`]: `--netdev`/`-netdev`/`-device virtio-net-device` syntax;
//! - [`backend`]: the thread, [`UserNet`] and the NIC's [`NetTx`];
//! - `slirp`: the only `unsafe` (libslirp FFI and its callbacks);
//! - `poll`: poll(2) for libslirp's sockets and our wake-up socket.

pub mod attach;
pub mod backend;
pub mod options;
mod poll;
#[cfg(feature = "user-net")]
mod slirp;
#[cfg(not(feature = "user-net"))]
#[path = "slirp_unavailable.rs"]
mod slirp;

pub use attach::{attach, find_netdev, transmit_to, AttachError, AttachedNic};
pub use backend::{BackendError, BackendGone, NetStats, NetTx, UserNet};
pub use options::{MacAddr, NetDeviceSpec, OptionsError, UserNetConfig, DEFAULT_MAC};
pub use slirp::SlirpError;

/// The libslirp version linked in (e.g. "4.7.0").
pub fn slirp_version() -> String {
    slirp::Stack::version()
}
