//! Finds the shop's binaries, building them first (once per test run) so tests never run stale
//! code.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The profile the tests were built with; the binaries are built with the same one.
const RELEASE: bool = !cfg!(debug_assertions);

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(workspace_root())
            .args(["build", "--bins", "--quiet"]);
        if RELEASE {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building the binaries failed");
    });
    target_dir()
        .join(if RELEASE { "release" } else { "debug" })
        .join(name)
}
