//! tg-sim as a child process (the `tg-sim` binary next to this one), so this
//! process's memory is the fleet's alone and the simulator's is read apart.

use anyhow::Context;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running simulator process; killed on drop.
pub struct SimProcess {
    child: Child,
    /// Control API base URL.
    pub control: String,
    /// Its process id, for reading its memory.
    pub pid: u32,
    _dir: tempfile::TempDir,
}

impl SimProcess {
    /// Starts `tg-sim` on free loopback ports with a fresh data dir and waits
    /// until it listens.
    pub fn start() -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?.with_file_name("tg-sim");
        anyhow::ensure!(
            exe.exists(),
            "{} is missing: build it first with `cargo build --release -p tg-sim`",
            exe.display()
        );
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(&exe)
            .args(["--addr", "127.0.0.1:0", "--no-snapshots", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        // The binary prints `tg-sim control=http://… mtproto=…` once both listeners are up.
        let control = loop {
            let line = lines.next().context("tg-sim exited before listening")??;
            if let Some(rest) = line.strip_prefix("tg-sim control=") {
                break rest.split_whitespace().next().unwrap_or_default().to_owned();
            }
        };
        // Keep draining its output so a chatty simulator never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let pid = child.id();
        Ok(Self { child, control, pid, _dir: dir })
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
