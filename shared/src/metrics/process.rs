//! `process_*` metrics read from `/proc/self` at each scrape (Linux; elsewhere nothing
//! is exported): CPU time, resident memory, open and allowed file descriptors, start
//! time. Names and meanings are those of Prometheus's own client libraries, so the usual
//! dashboards work.

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
};

#[derive(Debug, Default)]
pub struct ProcessCollector;

/// What `/proc/self` says now.
#[derive(Debug, Default, PartialEq)]
struct Reading {
    cpu_seconds: f64,
    resident_bytes: i64,
    open_fds: i64,
    max_fds: Option<i64>,
    start_time_seconds: Option<f64>,
}

/// Linux reports CPU times in clock ticks of 1/100 s (`USER_HZ`, fixed for user space).
const TICKS_PER_SECOND: f64 = 100.0;
const PAGE_BYTES: i64 = 4096;

fn read() -> Option<Reading> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // utime, stime, starttime and rss are fields 14, 15, 22 and 24 of proc(5): the 12th,
    // 13th, 20th and 22nd after the name.
    let cpu_seconds = (field(11)? + field(12)?) / TICKS_PER_SECOND;
    let resident_bytes = field(21)? as i64 * PAGE_BYTES;
    let boot_time = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<f64>().ok())
    });
    let start_time_seconds = boot_time
        .zip(field(19))
        .map(|(boot, ticks)| boot + ticks / TICKS_PER_SECOND);
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as i64;
    let max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|soft| soft.parse().ok())
        });
    Some(Reading {
        cpu_seconds,
        resident_bytes,
        open_fds,
        max_fds,
        start_time_seconds,
    })
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(now) = read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(now.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                Some(now.resident_bytes as f64),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                Some(now.open_fds as f64),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                now.max_fds.map(|n| n as f64),
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds",
                now.start_time_seconds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                let gauge = ConstGauge::new(value);
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_memory_and_descriptors() {
        let reading = read().expect("/proc/self is readable on Linux");
        assert!(reading.resident_bytes > 0);
        assert!(reading.open_fds >= 3, "stdin, stdout and stderr at least");
        assert!(reading.max_fds.is_some_and(|max| max >= reading.open_fds));
        assert!(reading.start_time_seconds.is_some_and(|t| t > 1.6e9));
    }
}
