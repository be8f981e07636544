//! Percentiles, run summaries and resident memory.

/// The `q` quantile (0..=1) of unsorted samples, nearest rank.
pub fn percentile(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[rank]
}

/// "median (run / run / run)" of rates per second.
pub fn runs(rates: &[f64]) -> String {
    let each: Vec<String> = rates.iter().map(|r| thousands(*r)).collect();
    format!(
        "{} ({})",
        thousands(percentile(rates, 0.5)),
        each.join(" / ")
    )
}

pub fn thousands(rate: f64) -> String {
    if rate >= 10_000.0 {
        format!("{:.1}k", rate / 1000.0)
    } else {
        format!("{rate:.0}")
    }
}

/// VmRSS of a process, MB.
pub fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
