//! The process metrics Prometheus client libraries export by convention (`process_*`), read
//! from /proc/self at each scrape: CPU time, resident and virtual memory, open and allowed fds,
//! start time. Written here rather than with the prometheus crate's `process` feature, which
//! would pull in procfs and its dependencies for six numbers.

use prometheus::{Counter, Gauge, IntGauge, Registry};

pub struct ProcessMetrics {
    cpu: Counter,
    resident: IntGauge,
    virtual_bytes: IntGauge,
    open_fds: IntGauge,
    max_fds: IntGauge,
    start_time: Gauge,
}

/// What /proc/self/stat says, in the units of the metrics.
#[derive(Debug, PartialEq)]
struct Stat {
    cpu_seconds: f64,
    start_after_boot_seconds: f64,
    virtual_bytes: i64,
    resident_bytes: i64,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, m: T) -> T {
    registry
        .register(Box::new(m.clone()))
        .expect("unique metric");
    m
}

impl ProcessMetrics {
    pub fn new(registry: &Registry) -> Self {
        let gauge = |name: &str, help: &str| {
            register(registry, IntGauge::new(name, help).expect("valid metric"))
        };
        Self {
            cpu: register(
                registry,
                Counter::new(
                    "process_cpu_seconds_total",
                    "Total user and system CPU time spent in seconds.",
                )
                .expect("valid metric"),
            ),
            resident: gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
            ),
            virtual_bytes: gauge(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
            ),
            open_fds: gauge("process_open_fds", "Number of open file descriptors."),
            max_fds: gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
            ),
            start_time: register(
                registry,
                Gauge::new(
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                )
                .expect("valid metric"),
            ),
        }
    }

    /// Reads /proc/self now; a value that cannot be read keeps its last one (logged).
    pub fn update(&self) {
        match std::fs::read_to_string("/proc/self/stat").map(|s| parse_stat(&s)) {
            Ok(Some(stat)) => {
                let grown = stat.cpu_seconds - self.cpu.get();
                if grown > 0.0 {
                    self.cpu.inc_by(grown);
                }
                self.resident.set(stat.resident_bytes);
                self.virtual_bytes.set(stat.virtual_bytes);
                if let Some(boot) = boot_time() {
                    self.start_time.set(boot + stat.start_after_boot_seconds);
                }
            }
            Ok(None) => tracing::debug!("process metrics: /proc/self/stat has an unknown form"),
            Err(e) => tracing::debug!("process metrics: /proc/self/stat: {e}"),
        }
        match std::fs::read_dir("/proc/self/fd") {
            // The directory's own fd, open while it is read, is not counted.
            Ok(dir) => self
                .open_fds
                .set(i64::try_from(dir.count()).unwrap_or(i64::MAX) - 1),
            Err(e) => tracing::debug!("process metrics: /proc/self/fd: {e}"),
        }
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        if let Some(max) = limit.current {
            self.max_fds.set(i64::try_from(max).unwrap_or(i64::MAX));
        }
    }
}

/// The fields of proc(5)'s stat after the command (which may hold spaces and parentheses).
fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field N is at index N - 3.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let page = rustix::param::page_size() as u64;
    Some(Stat {
        cpu_seconds: (field(14)? + field(15)?) as f64 / ticks,
        start_after_boot_seconds: field(22)? as f64 / ticks,
        virtual_bytes: i64::try_from(field(23)?).ok()?,
        resident_bytes: i64::try_from(field(24)? * page).ok()?,
    })
}

/// When the host booted (seconds since the epoch), from /proc/stat's `btime`.
fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_whatever_it_holds() {
        let ticks = rustix::param::clock_ticks_per_second() as f64;
        let page = rustix::param::page_size() as i64;
        let line = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 \
                    1000 8192000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.cpu_seconds, 300.0 / ticks);
        assert_eq!(stat.start_after_boot_seconds, 1000.0 / ticks);
        assert_eq!(stat.virtual_bytes, 8_192_000);
        assert_eq!(stat.resident_bytes, 300 * page);
    }

    #[test]
    fn this_process_reads_as_running_with_memory_and_fds() {
        let registry = Registry::new();
        let m = ProcessMetrics::new(&registry);
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        m.update();
        assert!(m.resident.get() > 0 && m.virtual_bytes.get() >= m.resident.get());
        assert!(m.open_fds.get() >= 1 && m.max_fds.get() >= m.open_fds.get());
        assert!(m.start_time.get() > 1.6e9, "{}", m.start_time.get());
        drop(file);
    }
}
