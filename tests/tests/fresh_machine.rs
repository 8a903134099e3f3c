//! The README's first command on a machine that has only the image (Rust, a
//! C compiler, Python): no CMake. This machine may have CMake installed, so
//! the test hides it: every PATH directory that holds `cmake` is replaced
//! by a directory of links to everything else in it. Then it builds emu in
//! a throwaway target directory (nothing prebuilt can hide a build step)
//! and runs `emu demo` to its verdict.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e::{root, run, Scratch};

/// The tool a fresh machine does not have.
const ABSENT: &str = "cmake";

/// PATH with `tool` hidden; the shadow directories go under `shadow_root`.
fn path_without(tool: &str, shadow_root: &Path) -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .enumerate()
        .map(|(i, dir)| {
            if !dir.join(tool).exists() {
                return dir;
            }
            let shadow = shadow_root.join(format!("dir{i}"));
            std::fs::create_dir_all(&shadow).unwrap();
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                if entry.file_name() != tool {
                    let _ =
                        std::os::unix::fs::symlink(entry.path(), shadow.join(entry.file_name()));
                }
            }
            shadow
        })
        .collect();
    std::env::join_paths(dirs).unwrap()
}

fn on_path(tool: &str, path: &OsString) -> bool {
    std::env::split_paths(path).any(|d| d.join(tool).exists())
}

#[test]
fn demo_builds_and_runs_without_cmake() {
    let scratch = Scratch::new("fresh-machine");
    let path = path_without(ABSENT, &scratch.path("path"));
    assert!(!on_path(ABSENT, &path), "{ABSENT} still on PATH");
    assert!(on_path("cc", &path), "the C compiler must stay on PATH");

    let target = scratch.path("target");
    let build = Command::new(env!("CARGO"))
        .args([
            "build",
            "--offline",
            "--locked",
            "-p",
            "emu",
            "--bin",
            "emu",
        ])
        .env("PATH", &path)
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(root())
        .output()
        .expect("run cargo build");
    assert!(
        build.status.success(),
        "emu does not build without {ABSENT}:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );

    let demo = run(
        &target.join("debug/emu"),
        &["demo"],
        Duration::from_secs(120),
    );
    assert_eq!(
        demo.code,
        Some(0),
        "emu demo failed:\n{}{}",
        demo.stdout,
        demo.stderr
    );
    assert!(
        demo.stdout.contains("identical: ") && demo.stdout.contains("same machine state"),
        "no verdict in the demo's output:\n{}",
        demo.stdout
    );
}
