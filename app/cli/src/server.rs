//! The keeper's local HTTP endpoints on 127.0.0.1: `/metrics` (OpenMetrics
//! text from the keeper's prometheus-client registry) and `/health` (200
//! while passes keep completing, 503 otherwise). Served by axum (hyper) on the
//! keeper's tokio runtime: every connection is handled on its own, so a
//! client that connects and sends nothing holds up no one.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use coverage_sdk::keeper::{Metrics, METRICS_CONTENT_TYPE};

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    /// Passes seen at the last look, and when that count last changed.
    progress: Arc<Mutex<(u64, Instant)>>,
    /// How long without a completed pass before `/health` says 503.
    patience: Duration,
    started: Instant,
}

/// Serves on 127.0.0.1:`port` (0: any free port); returns the bound address.
/// `interval` is the keeper's pass interval, seconds.
pub async fn serve(port: u16, metrics: Arc<Metrics>, interval: u64) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("binding the metrics port {port} (pass --metrics-port)"))?;
    let addr = listener.local_addr()?;
    let shared = Shared {
        metrics,
        progress: Arc::new(Mutex::new((0, Instant::now()))),
        patience: Duration::from_secs(3 * interval.max(1) + 30),
        started: Instant::now(),
    };
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/health", get(health))
        .fallback(|| async { (StatusCode::NOT_FOUND, "try /metrics or /health\n") })
        .with_state(shared);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

async fn metrics_text(State(s): State<Shared>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], s.metrics.prometheus())
}

async fn health(State(s): State<Shared>) -> impl IntoResponse {
    let ticks = s.metrics.ticks.get();
    let stale = {
        let mut p = s.progress.lock().unwrap_or_else(|e| e.into_inner());
        if p.0 != ticks {
            *p = (ticks, Instant::now());
        }
        p.1.elapsed() > s.patience && s.started.elapsed() > s.patience
    };
    let body = serde_json::json!({
        "ticks": ticks,
        "last_tick": s.metrics.last_tick.get(),
        "errors": s.metrics.errors.get(),
        "healthy": !stale,
    });
    let status = if stale {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn a_silent_connection_does_not_block_a_scrape() {
        let metrics = Arc::new(Metrics::default());
        metrics.ticks.inc();
        metrics.observe_market(&anchor_lang::prelude::Pubkey::new_unique(), 1_678_523_400);
        metrics.confirmation_seconds.observe(0.4);
        let addr = serve(0, metrics, 10).await.unwrap();
        // clients that connect and never send a byte
        let mut silent = Vec::new();
        for _ in 0..4 {
            silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        let scrape = tokio::time::timeout(Duration::from_secs(5), get(addr, "/metrics"))
            .await
            .expect("a scrape answers while silent connections are open");
        assert!(scrape.starts_with("HTTP/1.1 200"), "{scrape}");
        assert!(scrape.contains("application/openmetrics-text"), "{scrape}");
        let health = tokio::time::timeout(Duration::from_secs(5), get(addr, "/health"))
            .await
            .unwrap();
        assert!(
            health.starts_with("HTTP/1.1 200") && health.contains("\"ticks\":1"),
            "{health}"
        );
        let other = get(addr, "/nope").await;
        assert!(other.starts_with("HTTP/1.1 404"), "{other}");
        drop(silent);
    }

    #[tokio::test]
    async fn metrics_follow_prometheus_naming() {
        let metrics = Arc::new(Metrics::default());
        let market = anchor_lang::prelude::Pubkey::new_unique();
        metrics.checks.inc_by(3);
        metrics.observe_market(&market, 1_678_523_400);
        metrics.confirmation_seconds.observe(0.3);
        let addr = serve(0, metrics, 10).await.unwrap();
        let text = get(addr, "/metrics").await;
        // every counter ends in _total
        let mut counters = 0;
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let mut parts = line.split_whitespace().skip(2);
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(name.starts_with("cover_keeper_"), "{line}");
            if kind == "counter" {
                counters += 1;
                assert!(
                    text.contains(&format!("\n{name}_total ")),
                    "counter {name} has no _total sample"
                );
            }
        }
        assert_eq!(counters, 12, "{text}");
        assert!(text.contains("cover_keeper_checks_total 3"), "{text}");
        // a per-market gauge of the last accepted publish time
        assert!(
            text.contains(&format!(
                "cover_keeper_market_last_publish_timestamp_seconds{{market=\"{market}\"}} 1678523400"
            )),
            "{text}"
        );
        assert!(text.contains("# TYPE cover_keeper_market_last_publish_timestamp_seconds gauge"));
        // a histogram of confirmation time, in seconds
        assert!(text.contains("# TYPE cover_keeper_transaction_confirmation_seconds histogram"));
        assert!(
            text.contains("cover_keeper_transaction_confirmation_seconds_bucket{le=\"0.4\"} 1"),
            "{text}"
        );
        assert!(text.contains("cover_keeper_transaction_confirmation_seconds_count 1"));
    }
}
