//! The keeper's local HTTP endpoints: `/metrics` (Prometheus text) and
//! `/health` (200 while the last pass is recent, 503 otherwise). A plain
//! std listener on a background thread: two routes need no framework.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use coverage_sdk::keeper::Metrics;

/// Serves on 127.0.0.1:`port`; returns the bound address.
pub fn serve(port: u16, metrics: Arc<Mutex<Metrics>>, interval: u64) -> Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("binding the metrics port {port} (pass --metrics-port)"))?;
    let addr = listener.local_addr()?;
    let started = std::time::Instant::now();
    std::thread::spawn(move || {
        let mut last_ticks = 0u64;
        let mut last_change = std::time::Instant::now();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let path = req.split_whitespace().nth(1).unwrap_or("/");
            let m = metrics.lock().map(|m| m.clone()).unwrap_or_default();
            if m.ticks != last_ticks {
                last_ticks = m.ticks;
                last_change = std::time::Instant::now();
            }
            let (status, ctype, body) = match path {
                "/metrics" => ("200 OK", "text/plain; version=0.0.4", m.prometheus()),
                "/health" => {
                    let stale = last_change.elapsed().as_secs() > 3 * interval.max(1) + 30
                        && started.elapsed().as_secs() > 3 * interval.max(1) + 30;
                    let body = format!(
                        "{{\"ticks\":{},\"last_tick\":{},\"errors\":{}}}",
                        m.ticks, m.last_tick, m.errors
                    );
                    (
                        if stale { "503 Service Unavailable" } else { "200 OK" },
                        "application/json",
                        body,
                    )
                }
                _ => ("404 Not Found", "text/plain", "try /metrics or /health\n".to_string()),
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok(addr)
}
