//! Command-line syntax of the network options, as QEMU spells them.
//!
//! `--netdev user,tftp=DIR[,restrict=on]` (ours) and QEMU's
//! `-netdev user,id=net0,restrict=on,tftp=DIR` parse into [`UserNetConfig`];
//! `-device virtio-net-device,netdev=net0[,mac=..]` parses into [`NetDeviceSpec`].
//! Parsing is pure: nothing here touches the host (the TFTP directory is
//! checked when the backend starts, see `backend.rs`).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;

/// QEMU's default MAC for the first NIC (`52:54:00:12:34:56`).
pub const DEFAULT_MAC: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

/// Why an option string was rejected. Each variant names the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("netdev backend `{0}` is not supported (only `user`)")]
    UnsupportedBackend(String),
    #[error("device `{0}` is not a network device this machine has (only `virtio-net-device`)")]
    UnsupportedDevice(String),
    #[error("unknown option `{key}` in `{spec}`")]
    UnknownKey { key: String, spec: String },
    #[error("option `{key}` needs a value (`{key}=...`) in `{spec}`")]
    MissingValue { key: String, spec: String },
    #[error("option `{key}={value}`: expected on or off")]
    BadSwitch { key: String, value: String },
    #[error("option `{key}={value}`: expected {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("option `{key}` given twice in `{spec}`")]
    Duplicate { key: String, spec: String },
    #[error("`{0}`: IPv4 and IPv6 are both off, the netdev would carry nothing")]
    NoProtocol(String),
}

/// A 48-bit Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl FromStr for MacAddr {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in out.iter_mut() {
            let p = parts.next().ok_or(())?;
            if p.len() != 2 {
                return Err(());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| ())?;
        }
        if parts.next().is_some() {
            return Err(());
        }
        Ok(MacAddr(out))
    }
}

impl std::fmt::Display for MacAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Configuration of the user-mode network (QEMU `-netdev user`). The
/// defaults are QEMU's: network 10.0.2.0/24, host 10.0.2.2, DNS 10.0.2.3,
/// first DHCP address 10.0.2.15, IPv6 prefix fec0::/64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNetConfig {
    /// `id=`: the name `-device ...,netdev=` refers to.
    pub id: Option<String>,
    /// `restrict=on`: nothing leaves the host; only the built-in services answer.
    pub restrict: bool,
    /// `tftp=`: root of the built-in TFTP server (read-only).
    pub tftp_root: Option<PathBuf>,
    /// `bootfile=`: the DHCP boot file name.
    pub bootfile: Option<String>,
    /// `hostname=`: the DHCP host name option.
    pub hostname: Option<String>,
    pub ipv4: bool,
    pub ipv6: bool,
    pub network: Ipv4Addr,
    pub netmask: Ipv4Addr,
    pub host: Ipv4Addr,
    pub dns: Ipv4Addr,
    pub dhcp_start: Ipv4Addr,
}

impl Default for UserNetConfig {
    fn default() -> Self {
        UserNetConfig {
            id: None,
            restrict: false,
            tftp_root: None,
            bootfile: None,
            hostname: None,
            ipv4: true,
            ipv6: true,
            network: Ipv4Addr::new(10, 0, 2, 0),
            netmask: Ipv4Addr::new(255, 255, 255, 0),
            host: Ipv4Addr::new(10, 0, 2, 2),
            dns: Ipv4Addr::new(10, 0, 2, 3),
            dhcp_start: Ipv4Addr::new(10, 0, 2, 15),
        }
    }
}

/// Splits `a=b` into key and optional value.
fn key_value(item: &str) -> (&str, Option<&str>) {
    match item.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (item, None),
    }
}

fn switch(key: &str, value: &str) -> Result<bool, OptionsError> {
    // QEMU's boolean properties accept these spellings.
    match value {
        "on" | "yes" | "true" | "y" => Ok(true),
        "off" | "no" | "false" | "n" => Ok(false),
        _ => Err(OptionsError::BadSwitch {
            key: key.into(),
            value: value.into(),
        }),
    }
}

fn addr(key: &str, value: &str) -> Result<Ipv4Addr, OptionsError> {
    value.parse().map_err(|_| OptionsError::BadValue {
        key: key.into(),
        value: value.into(),
        expected: "an IPv4 address",
    })
}

impl UserNetConfig {
    /// Parses `user[,key=value]...`.
    pub fn parse(spec: &str) -> Result<Self, OptionsError> {
        let mut items = spec.split(',');
        let backend = items.next().unwrap_or_default();
        if backend != "user" {
            return Err(OptionsError::UnsupportedBackend(backend.into()));
        }
        let mut cfg = UserNetConfig::default();
        let mut seen: Vec<&str> = Vec::new();
        for item in items.filter(|i| !i.is_empty()) {
            let (key, value) = key_value(item);
            if seen.contains(&key) {
                return Err(OptionsError::Duplicate {
                    key: key.into(),
                    spec: spec.into(),
                });
            }
            seen.push(key);
            let value = value.ok_or_else(|| OptionsError::MissingValue {
                key: key.into(),
                spec: spec.into(),
            })?;
            match key {
                "id" => cfg.id = Some(value.into()),
                "restrict" | "restricted" => cfg.restrict = switch(key, value)?,
                "tftp" => cfg.tftp_root = Some(PathBuf::from(value)),
                "bootfile" => cfg.bootfile = Some(value.into()),
                "hostname" => cfg.hostname = Some(value.into()),
                "ipv4" => cfg.ipv4 = switch(key, value)?,
                "ipv6" => cfg.ipv6 = switch(key, value)?,
                "net" => {
                    // `net=ADDR[/BITS]`, as QEMU.
                    let (a, bits) = match value.split_once('/') {
                        Some((a, b)) => (a, Some(b)),
                        None => (value, None),
                    };
                    cfg.network = addr(key, a)?;
                    if let Some(b) = bits {
                        let n: u32 = b.parse().ok().filter(|n| (1..=30).contains(n)).ok_or(
                            OptionsError::BadValue {
                                key: key.into(),
                                value: value.into(),
                                expected: "a prefix length 1..30",
                            },
                        )?;
                        cfg.netmask = Ipv4Addr::from(u32::MAX << (32 - n));
                    }
                }
                "host" => cfg.host = addr(key, value)?,
                "dns" => cfg.dns = addr(key, value)?,
                "dhcpstart" => cfg.dhcp_start = addr(key, value)?,
                _ => {
                    return Err(OptionsError::UnknownKey {
                        key: key.into(),
                        spec: spec.into(),
                    })
                }
            }
        }
        if !cfg.ipv4 && !cfg.ipv6 {
            return Err(OptionsError::NoProtocol(spec.into()));
        }
        Ok(cfg)
    }
}

impl FromStr for UserNetConfig {
    type Err = OptionsError;
    fn from_str(s: &str) -> Result<Self, OptionsError> {
        UserNetConfig::parse(s)
    }
}

/// `-device virtio-net-device,netdev=ID[,mac=..]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDeviceSpec {
    pub netdev: Option<String>,
    pub mac: MacAddr,
}

impl NetDeviceSpec {
    /// Parses a `-device` value. Returns `Ok(None)` when the device is not a
    /// network device, so the caller can offer it to the other device parsers.
    pub fn parse(spec: &str) -> Result<Option<Self>, OptionsError> {
        let mut items = spec.split(',');
        let driver = items.next().unwrap_or_default();
        match driver {
            "virtio-net-device" => {}
            "virtio-net-pci" | "e1000" | "rtl8139" => {
                return Err(OptionsError::UnsupportedDevice(driver.into()))
            }
            _ => return Ok(None),
        }
        let mut dev = NetDeviceSpec {
            netdev: None,
            mac: DEFAULT_MAC,
        };
        for item in items.filter(|i| !i.is_empty()) {
            let (key, value) = key_value(item);
            let value = value.ok_or_else(|| OptionsError::MissingValue {
                key: key.into(),
                spec: spec.into(),
            })?;
            match key {
                "netdev" => dev.netdev = Some(value.into()),
                "mac" => {
                    dev.mac = value.parse().map_err(|_| OptionsError::BadValue {
                        key: key.into(),
                        value: value.into(),
                        expected: "a MAC address like 52:54:00:12:34:56",
                    })?
                }
                // Properties of the virtio transport QEMU accepts; they change
                // nothing guest-visible in this machine.
                "id" | "bus" => {}
                _ => {
                    return Err(OptionsError::UnknownKey {
                        key: key.into(),
                        spec: spec.into(),
                    })
                }
            }
        }
        Ok(Some(dev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_fixture_netdev_line_parses() {
        let c = UserNetConfig::parse("user,id=net0,restrict=on,tftp=inputs/tftp").unwrap();
        assert_eq!(c.id.as_deref(), Some("net0"));
        assert!(c.restrict);
        assert_eq!(c.tftp_root, Some(PathBuf::from("inputs/tftp")));
        assert_eq!(c.host, Ipv4Addr::new(10, 0, 2, 2));
        assert_eq!(c.dhcp_start, Ipv4Addr::new(10, 0, 2, 15));
    }

    #[test]
    fn our_short_form_parses_and_restrict_defaults_off() {
        let c = UserNetConfig::parse("user,tftp=/srv/tftp").unwrap();
        assert!(!c.restrict);
        assert!(c.id.is_none());
    }

    #[test]
    fn net_prefix_sets_mask() {
        let c = UserNetConfig::parse("user,net=192.168.76.0/20").unwrap();
        assert_eq!(c.network, Ipv4Addr::new(192, 168, 76, 0));
        assert_eq!(c.netmask, Ipv4Addr::new(255, 255, 240, 0));
    }

    #[test]
    fn bad_options_are_named() {
        assert_eq!(
            UserNetConfig::parse("tap,ifname=x"),
            Err(OptionsError::UnsupportedBackend("tap".into()))
        );
        assert!(matches!(
            UserNetConfig::parse("user,hostfwd=tcp::1-:2"),
            Err(OptionsError::UnknownKey { key, .. }) if key == "hostfwd"
        ));
        assert!(matches!(
            UserNetConfig::parse("user,restrict=maybe"),
            Err(OptionsError::BadSwitch { .. })
        ));
        assert!(matches!(
            UserNetConfig::parse("user,tftp"),
            Err(OptionsError::MissingValue { .. })
        ));
        assert!(matches!(
            UserNetConfig::parse("user,id=a,id=b"),
            Err(OptionsError::Duplicate { .. })
        ));
        assert!(matches!(
            UserNetConfig::parse("user,ipv4=off,ipv6=off"),
            Err(OptionsError::NoProtocol(_))
        ));
        assert!(matches!(
            UserNetConfig::parse("user,net=10.0.2.0/31"),
            Err(OptionsError::BadValue { .. })
        ));
    }

    #[test]
    fn device_spec() {
        let d = NetDeviceSpec::parse("virtio-net-device,netdev=net0")
            .unwrap()
            .unwrap();
        assert_eq!(d.netdev.as_deref(), Some("net0"));
        assert_eq!(d.mac, DEFAULT_MAC);
        assert_eq!(d.mac.to_string(), "52:54:00:12:34:56");
        let d = NetDeviceSpec::parse("virtio-net-device,mac=02:00:00:00:00:01")
            .unwrap()
            .unwrap();
        assert_eq!(d.mac, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(
            NetDeviceSpec::parse("virtio-blk-device,drive=x").unwrap(),
            None
        );
        assert!(NetDeviceSpec::parse("virtio-net-device,mac=52:54").is_err());
        assert!(NetDeviceSpec::parse("e1000").is_err());
    }
}
