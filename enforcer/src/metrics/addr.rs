//! `--metrics ADDR` as exporters conventionally accept it: `HOST:PORT` with an IP address or
//! a host name (`localhost:9464`, resolved now), or `:PORT` for every IPv4 interface
//! (`0.0.0.0:PORT`, as node_exporter's `:9100`).

use std::net::{SocketAddr, ToSocketAddrs};

/// Clap's value parser for `--metrics`: the error names the value and what to write instead.
pub fn parse_metrics_addr(value: &str) -> Result<SocketAddr, String> {
    let usage = "expected HOST:PORT (127.0.0.1:9464, localhost:9464, [::1]:9464) or :PORT";
    if let Some(port) = value.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{value:?}: {port:?} is not a port; {usage}"))?;
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    if !value.contains(':') {
        return Err(format!("{value:?}: no port; {usage}"));
    }
    let mut addrs = value
        .to_socket_addrs()
        .map_err(|e| format!("{value:?}: {e}; {usage}"))?;
    // `localhost` may name ::1 first; IPv4 is what a scrape config for localhost reaches.
    let all: Vec<SocketAddr> = addrs.by_ref().collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| format!("{value:?}: the name has no address; {usage}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_only_host_names_and_addresses_are_accepted() {
        assert_eq!(
            parse_metrics_addr(":9464").unwrap().to_string(),
            "0.0.0.0:9464"
        );
        assert_eq!(
            parse_metrics_addr("localhost:9464").unwrap().to_string(),
            "127.0.0.1:9464"
        );
        assert_eq!(
            parse_metrics_addr("[::1]:0").unwrap().to_string(),
            "[::1]:0"
        );
        assert_eq!(
            parse_metrics_addr("127.0.0.1:9464").unwrap().to_string(),
            "127.0.0.1:9464"
        );
        for bad in ["9464", ":http", "localhost", ":99999"] {
            let e = parse_metrics_addr(bad).unwrap_err();
            assert!(e.contains(bad) && e.contains(":PORT"), "{e}");
        }
    }
}
