//! Shared helpers of tangent's benchmarks: reading criterion's estimates back and printing
//! ratios measured in the same run (the machines are shared and noisy; absolute times are not
//! comparable across runs, ratios are).
//!
//! ```
//! // Ratios need criterion's output, which only a benchmark run produces:
//! assert!(tangent_benches::median_ns("no-such-group", "no-such-id").is_none());
//! ```

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::SystemTime;

/// Set by [`ignore_earlier_runs`]: estimates written before this instant are not read.
static RUN_START: OnceLock<SystemTime> = OnceLock::new();

/// From now on [`median_ns`] (and so [`print_ratios`]) reads only estimates written by this
/// process: a benchmark run with a filter then reports the groups it skipped as not run instead
/// of printing a saved estimate from an earlier run. Call it first thing in a benchmark's
/// `main`.
pub fn ignore_earlier_runs() {
    // A second call keeps the first instant, which is the earlier and so the safer one.
    let _ = RUN_START.set(SystemTime::now());
}

/// criterion's output directory (`CARGO_TARGET_DIR` or the workspace `target/`).
fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("criterion")
}

/// Median time in nanoseconds of benchmark `id` in `group` from the latest criterion run, if
/// it exists (and, after [`ignore_earlier_runs`], was written by this process).
pub fn median_ns(group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group.replace('/', "_"))
        .join(id.replace('/', "_"))
        .join("new")
        .join("estimates.json");
    if let Some(start) = RUN_START.get() {
        let written = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
        if written < *start {
            return None;
        }
    }
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// Prints each benchmark of `group` as a ratio to `reference`, from the latest criterion run.
pub fn print_ratios(group: &str, reference: &str, ids: &[&str]) {
    let Some(base) = median_ns(group, reference) else {
        println!("{group}: no estimate for {reference}");
        return;
    };
    println!("{group}: {reference} = {}", human(base));
    for id in ids {
        match median_ns(group, id) {
            Some(t) => println!(
                "  {id:<34} {:>10}  {:>8.2} × {reference}",
                human(t),
                t / base
            ),
            None => println!("  {id:<34} (not run)"),
        }
    }
}

fn human(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}
