//! Builds the NIC and, outside replay, its backend from the parsed options:
//! the one place that decides whether the host network exists at all.

use super::backend::{BackendError, UserNet};
use super::options::{NetDeviceSpec, UserNetConfig};
use crate::devices::virtio::net::{TxSink, VirtioNet};

/// Why the network options do not fit together.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("-device virtio-net-device,netdev={0}: no -netdev with id={0}")]
    UnknownNetdev(String),
    #[error("-device virtio-net-device names no netdev and there are {0} -netdev options to choose from")]
    AmbiguousNetdev(usize),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A NIC wired to its backend (`None` in replay).
pub struct AttachedNic {
    pub device: VirtioNet,
    pub backend: Option<UserNet>,
}

/// Picks the netdev `dev` refers to (by `netdev=` id, or the only one).
pub fn find_netdev<'a>(
    dev: &NetDeviceSpec,
    netdevs: &'a [UserNetConfig],
) -> Result<Option<&'a UserNetConfig>, AttachError> {
    match &dev.netdev {
        Some(id) => netdevs
            .iter()
            .find(|n| n.id.as_deref() == Some(id))
            .map(Some)
            .ok_or_else(|| AttachError::UnknownNetdev(id.clone())),
        None if netdevs.len() <= 1 => Ok(netdevs.first()),
        None => Err(AttachError::AmbiguousNetdev(netdevs.len())),
    }
}

/// Creates the NIC for `dev`. With a backend config and `replay == false`,
/// starts libslirp and connects the NIC's transmit side to it; `deliver`
/// then gets every frame for the guest on the backend thread (the machine
/// turns it into `AsyncInput::NetRx`). In replay no backend is started and
/// transmitted frames are dropped: the log supplies what the host answered.
pub fn attach<F>(
    dev: &NetDeviceSpec,
    netdev: Option<&UserNetConfig>,
    replay: bool,
    deliver: F,
) -> Result<AttachedNic, AttachError>
where
    F: FnMut(Vec<u8>) -> bool + Send + 'static,
{
    let backend = match netdev {
        Some(cfg) if !replay => Some(UserNet::spawn(cfg.clone(), deliver)?),
        _ => None,
    };
    let sink = backend.as_ref().map(transmit_to);
    Ok(AttachedNic {
        device: VirtioNet::new(dev.mac.0, sink),
        backend,
    })
}

/// The NIC's transmit side, feeding `backend`.
pub fn transmit_to(backend: &UserNet) -> TxSink {
    let tx = backend.sender();
    Box::new(move |frame: Vec<u8>| {
        // A stopped backend is a lost link, not a guest-visible error.
        let _ = tx.send(frame);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(netdev: Option<&str>) -> NetDeviceSpec {
        NetDeviceSpec {
            netdev: netdev.map(str::to_string),
            mac: super::super::DEFAULT_MAC,
        }
    }

    #[test]
    fn netdev_is_found_by_id_or_alone() {
        let a = UserNetConfig {
            id: Some("net0".into()),
            ..Default::default()
        };
        let b = UserNetConfig {
            id: Some("net1".into()),
            ..Default::default()
        };
        let both = [a.clone(), b.clone()];
        assert_eq!(find_netdev(&dev(Some("net1")), &both).unwrap(), Some(&b));
        assert!(matches!(
            find_netdev(&dev(Some("nope")), &both),
            Err(AttachError::UnknownNetdev(id)) if id == "nope"
        ));
        assert!(matches!(
            find_netdev(&dev(None), &both),
            Err(AttachError::AmbiguousNetdev(2))
        ));
        assert_eq!(
            find_netdev(&dev(None), std::slice::from_ref(&a)).unwrap(),
            Some(&a)
        );
        assert_eq!(find_netdev(&dev(None), &[]).unwrap(), None);
    }

    #[test]
    #[cfg(feature = "user-net")]
    fn replay_starts_no_backend() {
        let cfg = UserNetConfig {
            restrict: true,
            ..Default::default()
        };
        let nic = attach(&dev(None), Some(&cfg), true, |_| true).unwrap();
        assert!(nic.backend.is_none());
        let nic = attach(&dev(None), Some(&cfg), false, |_| true).unwrap();
        assert!(nic.backend.is_some());
        assert_eq!(nic.device.mac(), [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    }
}
