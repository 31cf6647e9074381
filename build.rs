//! Builds the web app into `web/dist` when it is missing or older than its
//! sources and npm is installed, so `cargo run --release` serves the app on a
//! fresh machine with no other step. Without npm the server still runs and
//! says at `/` how to build the app. `TGDESK_SKIP_WEB_BUILD=1` skips it (for
//! builds that never serve the app).

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

/// What the app is built from; a change to any of these rebuilds it.
const SOURCES: &[&str] = &[
    "web/src",
    "web/index.html",
    "web/package.json",
    "web/package-lock.json",
    "web/openapi.json",
    "web/tsconfig.json",
    "web/vite.config.ts",
];

fn main() {
    println!("cargo:rerun-if-env-changed=TGDESK_SKIP_WEB_BUILD");
    for source in SOURCES {
        println!("cargo:rerun-if-changed={source}");
    }
    // A missing page reruns this script on every build until it exists.
    println!("cargo:rerun-if-changed=web/dist/index.html");
    if std::env::var_os("TGDESK_SKIP_WEB_BUILD").is_some_and(|v| v == "1") || !Path::new("web/package.json").exists() {
        return;
    }
    let built = modified(Path::new("web/dist/index.html"));
    let newest_source = SOURCES.iter().filter_map(|s| newest(Path::new(s))).max();
    if built.is_some() && built >= newest_source {
        return;
    }
    if Command::new("npm").arg("--version").output().is_err() {
        println!("cargo:warning=npm not found: the web app (web/) is not built; the server will say so at /");
        return;
    }
    let lock = modified(Path::new("web/package-lock.json"));
    let installed = modified(Path::new("web/node_modules/.package-lock.json"));
    if installed.is_none() || installed < lock {
        npm(&["ci", "--no-audit", "--no-fund"]);
    }
    npm(&["run", "build"]);
}

fn npm(args: &[&str]) {
    let output = Command::new("npm").args(args).current_dir("web").output().expect("npm runs");
    if !output.status.success() {
        panic!(
            "`npm {}` in web/ failed (set TGDESK_SKIP_WEB_BUILD=1 to build the server without the app):\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file, or of any file under a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path).ok()?.filter_map(|e| e.ok()).filter_map(|e| newest(&e.path())).max()
}
