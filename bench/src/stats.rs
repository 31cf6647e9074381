//! Percentiles, memory and machine facts for the results.

use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Returns p50/p90/p99/max (ms) of `samples`.
pub fn latency(samples: &mut [Duration]) -> Value {
    samples.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    json!({
        "samples": samples.len(),
        "p50_ms": ms(pick(0.50)),
        "p90_ms": ms(pick(0.90)),
        "p99_ms": ms(pick(0.99)),
        "max_ms": ms(samples[samples.len() - 1]),
    })
}

/// Returns p50/p99/p999/max (ms) of `samples`.
pub fn latency_with_p999(samples: &mut [Duration]) -> Value {
    if samples.is_empty() {
        return json!({"samples": 0});
    }
    let mut v = latency(samples);
    let idx = ((samples.len() as f64 - 1.0) * 0.999).round() as usize;
    v["p999_ms"] = json!((samples[idx].as_secs_f64() * 1e6).round() / 1e3);
    v
}

/// Returns the process's peak resident memory in MiB (VmHWM).
pub fn peak_rss_mib() -> f64 {
    read_status_kib("VmHWM:") / 1024.0
}

/// Returns the process's current resident memory in MiB.
pub fn rss_mib() -> f64 {
    read_status_kib("VmRSS:") / 1024.0
}

fn read_status_kib(field: &str) -> f64 {
    read_status_kib_of("self", field)
}

fn read_status_kib_of(pid: &str, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// Returns facts about the machine the numbers came from, with its speed
/// (see [`calibrate`]) when the run began and now.
pub fn machine() -> Value {
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "date": chrono::Utc::now().to_rfc3339(),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "calibration_ms": {"before": CALIBRATION_BEFORE.get(), "after": calibrate()},
    })
}

/// The calibration taken when the run began.
static CALIBRATION_BEFORE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();

/// Calibrates before the scenario runs, for [`machine`] to report.
pub fn calibrate_before() {
    CALIBRATION_BEFORE.get_or_init(calibrate);
}

/// Times two fixed workloads on every core at once, in ms (the slowest
/// core's time): `compute` works in 1 MiB (cache), `memory` walks 64 MiB at
/// random (DRAM). The VM this bench runs on drifts in speed by a third over
/// hours, mostly when all its cores are busy: two runs compare fairly only
/// when their calibrations are close, and a run whose `before` and `after`
/// differ much ran on a machine that changed speed under it.
pub fn calibrate() -> Value {
    json!({"compute": round1(on_every_core(compute)), "memory": round1(on_every_core(memory_walk))})
}

/// Runs `work` on every core at once; returns the wall time in ms.
fn on_every_core(work: fn() -> u64) -> f64 {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..cores {
            scope.spawn(move || std::hint::black_box(work()));
        }
    });
    started.elapsed().as_secs_f64() * 1000.0
}

/// About 50 million dependent multiply-rotate steps over 1 MiB.
fn compute() -> u64 {
    let mut memory: Vec<u64> = (0..131_072).collect();
    let mut acc = 0x9E37_79B9_7F4A_7C15_u64;
    for round in 0..400_u64 {
        for word in memory.iter_mut() {
            acc = (acc ^ *word).rotate_left(17).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            *word = acc.wrapping_add(round);
        }
    }
    acc
}

/// A million dependent reads and writes at random places in 64 MiB.
fn memory_walk() -> u64 {
    const WORDS: usize = 8 << 20;
    let mut memory: Vec<u64> = (0..WORDS as u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
    let (mut at, mut acc) = (0_usize, 0_u64);
    for step in 0..1_000_000_u64 {
        let word = memory[at];
        acc = acc.wrapping_add(word).rotate_left(5);
        memory[at] = word ^ step;
        at = ((word ^ acc) % WORDS as u64) as usize;
    }
    acc
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Returns the CPU time (user + system) this process has used so far, in seconds.
pub fn cpu_seconds() -> f64 {
    cpu_seconds_of("self")
}

/// Returns the CPU time (user + system) of process `pid` (`"self"` for this one), in seconds.
pub fn cpu_seconds_of(pid: &str) -> f64 {
    // Fields 14 and 15 of /proc/PID/stat, counted after the parenthesised command name.
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // USER_HZ is 100 on every Linux this bench runs on.
    (ticks(11) + ticks(12)) / 100.0
}

/// Returns the current resident memory of process `pid` in MiB (0 when it is gone).
pub fn rss_mib_of(pid: u32) -> f64 {
    read_status_kib_of(&pid.to_string(), "VmRSS:") / 1024.0
}

/// Returns the peak resident memory of process `pid` in MiB (0 when it is gone).
pub fn peak_rss_mib_of(pid: u32) -> f64 {
    read_status_kib_of(&pid.to_string(), "VmHWM:") / 1024.0
}

/// Returns the value quantile `q` (0..=1) of sorted `samples` in ms, or 0 when empty.
pub fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let d = sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
    (d.as_secs_f64() * 1e6).round() / 1e3
}
