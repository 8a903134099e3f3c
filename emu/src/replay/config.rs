//! The machine-configuration side file written next to a recording.
//!
//! A log only replays on the machine that recorded it (same memory size,
//! devices and image bytes), but the log format has no room to say which
//! machine that was. `LOG.machine` holds it as `key = value` lines, and a
//! replay compares before it runs, so a mismatch is a clear report instead
//! of a divergence deep into the run.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Keys under this prefix record how the recording ended, for the replay
/// to compare against at its end.
pub const RESULT_PREFIX: &str = "result.";

/// Ordered `key = value` facts about a machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineFacts {
    entries: Vec<(String, String)>,
}

/// One fact that differs between the recording and the replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigMismatch {
    pub key: String,
    pub recorded: Option<String>,
    pub now: Option<String>,
}

impl fmt::Display for ConfigMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
        write!(
            f,
            "{}: recorded {}, now {}",
            self.key,
            show(&self.recorded),
            show(&self.now)
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read machine file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write machine file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{path}:{line}: expected `key = value`")]
    Syntax { path: PathBuf, line: usize },
}

impl MachineFacts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a fact; keys keep their insertion order in the file.
    pub fn set(&mut self, key: &str, value: impl fmt::Display) {
        let value = value.to_string().replace('\n', " ");
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The keys, in file order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// The side file that belongs to `log`: `LOG.machine`.
    pub fn side_file(log: &Path) -> PathBuf {
        let mut name = log.as_os_str().to_owned();
        name.push(".machine");
        PathBuf::from(name)
    }

    pub fn to_text(&self) -> String {
        let mut s =
            String::from("# emu machine configuration of a recording (compared before replay)\n");
        for (k, v) in &self.entries {
            s.push_str(&format!("{k} = {v}\n"));
        }
        s
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut cfg = MachineFacts::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once('=').ok_or(ConfigError::Syntax {
                path: path.to_path_buf(),
                line: i + 1,
            })?;
            cfg.set(k.trim(), v.trim());
        }
        Ok(cfg)
    }

    /// Writes the side file through a temporary file and a rename.
    pub fn write(&self, path: &Path) -> Result<(), ConfigError> {
        let err = |source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        fs::write(&tmp, self.to_text()).map_err(err)?;
        fs::rename(&tmp, path).map_err(err)
    }

    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Every machine fact that differs, in the recording's order, then
    /// facts only the current machine has. `result.*` entries (how the
    /// recording ended) are not configuration and are left out.
    pub fn compare(&self, now: &MachineFacts) -> Vec<ConfigMismatch> {
        let mut out = Vec::new();
        let config = |k: &String| !k.starts_with(RESULT_PREFIX);
        for (k, v) in self.entries.iter().filter(|(k, _)| config(k)) {
            let cur = now.get(k);
            if cur != Some(v.as_str()) {
                out.push(ConfigMismatch {
                    key: k.clone(),
                    recorded: Some(v.clone()),
                    now: cur.map(str::to_string),
                });
            }
        }
        for (k, v) in now.entries.iter().filter(|(k, _)| config(k)) {
            if self.get(k).is_none() {
                out.push(ConfigMismatch {
                    key: k.clone(),
                    recorded: None,
                    now: Some(v.clone()),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_compare() {
        let mut a = MachineFacts::new();
        a.set("memory", "128M");
        a.set("append", "");
        a.set("bios", "sha256:abc");
        let b = MachineFacts::parse(&a.to_text(), Path::new("x")).unwrap();
        assert_eq!(a, b);
        let mut c = b.clone();
        c.set("memory", "256M");
        c.set("drive", "none");
        c.set("result.digest", "1234");
        let diff = a.compare(&c);
        assert_eq!(diff.len(), 2);
        assert_eq!(diff[0].to_string(), "memory: recorded 128M, now 256M");
        assert_eq!(diff[1].key, "drive");
    }

    #[test]
    fn syntax_error_names_line() {
        let e = MachineFacts::parse("# c\nmemory 128M\n", Path::new("f.machine")).unwrap_err();
        assert_eq!(e.to_string(), "f.machine:2: expected `key = value`");
    }
}
