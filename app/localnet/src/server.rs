//! HTTP and websocket on loopback (axum): JSON-RPC over `POST /` on the
//! port, `GET /health`, subscriptions on port + 1. CORS is open (any origin,
//! any header: a browser's preflight with `content-type, solana-client`
//! passes), and a request body over [`MAX_BODY`] is refused with HTTP 413
//! before it is read. A request whose `Origin` (or `Host`) is not on this
//! machine is marked foreign: test controls refuse it (see
//! [`crate::rpc::test_controls`]); reads and writes answer it, as a
//! cluster's RPC answers any page.
//!
//! A websocket connection holds at most
//! [`crate::rpc::subscriptions::MAX_SUBSCRIPTIONS_PER_CONNECTION`]
//! subscriptions, and at most [`crate::rpc::MAX_QUEUED_NOTIFICATIONS`]
//! notifications ([`crate::rpc::MAX_QUEUED_BYTES`] bytes) waiting for it:
//! a client reading slower than that is disconnected with close code 1008
//! and a reason saying so.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use jsonrpc_core::{Error, ErrorCode};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::cors::{Any, CorsLayer};

use crate::ledger::LedgerHandle;
use crate::rpc::{self, Connection, Io, Next, Session};

/// Largest request body (and websocket message): agave's 50 KiB.
pub const MAX_BODY: usize = 50 * 1024;

/// Binds the HTTP port and the websocket port (+1) on 127.0.0.1; port 0
/// picks a free pair.
pub async fn bind(port: u16) -> Result<(TcpListener, TcpListener)> {
    let at = |p: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, p));
    if port != 0 {
        let http = TcpListener::bind(at(port))
            .await
            .with_context(|| format!("binding {} (another validator or localnet? pass --port)", at(port)))?;
        let ws_port = port.checked_add(1).context("the websocket port would be past 65535")?;
        let ws = TcpListener::bind(at(ws_port))
            .await
            .with_context(|| format!("binding the websocket port {}", at(ws_port)))?;
        return Ok((http, ws));
    }
    for _ in 0..64 {
        let http = TcpListener::bind(at(0)).await?;
        let Some(next) = http.local_addr()?.port().checked_add(1) else {
            continue;
        };
        if let Ok(ws) = TcpListener::bind(at(next)).await {
            return Ok((http, ws));
        }
    }
    anyhow::bail!("no free pair of consecutive ports on 127.0.0.1")
}

#[derive(Clone)]
struct AppState {
    io: Arc<Io>,
    ledger: LedgerHandle,
    shutdown: watch::Receiver<bool>,
}

fn json_error(status: StatusCode, error: Error) -> Response {
    let body = serde_json::to_string(&jsonrpc_core::Response::from(error, Some(jsonrpc_core::Version::V2)))
        .unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Whether `host` (a URL's host, or a `Host` header's, without the port)
/// names this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The host of `authority` (`host[:port]`, `[v6][:port]`).
fn host_of(authority: &str) -> &str {
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.split(':').next().unwrap_or(authority),
    }
}

/// The `Origin` (or `Host`) of a request that comes from a web page not on
/// this machine, if so: an `Origin` that is not `http(s)://` a loopback
/// host (`null`, a file, a page elsewhere — or a page reaching 127.0.0.1
/// through a rebound DNS name, whose `Host` is that name).
fn foreign_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let text = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        let authority = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"))
            .map(|rest| rest.split('/').next().unwrap_or(rest));
        if !authority.is_some_and(|a| is_loopback(host_of(a))) {
            return Some(text);
        }
    }
    match headers
        .get(header::HOST)
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
    {
        Some(host) if !is_loopback(host_of(&host)) => Some(format!("(Host: {host})")),
        _ => None,
    }
}

async fn http_rpc(State(st): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let error = Error {
                code: ErrorCode::InvalidRequest,
                message: format!(
                    "Invalid request: {} (the limit is {MAX_BODY} bytes)",
                    rejection.body_text()
                ),
                data: None,
            };
            return json_error(rejection.status(), error);
        }
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return json_error(StatusCode::OK, Error::parse_error());
    };
    let session = Session {
        ledger: st.ledger.clone(),
        conn: None,
        foreign_origin: foreign_origin(&headers),
    };
    match st.io.handle_request(text, session).await {
        Some(response) => ([(header::CONTENT_TYPE, "application/json")], response).into_response(),
        // only notifications: nothing to answer
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn ws_upgrade(State(st): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_BODY)
        .on_upgrade(move |socket| ws_connection(socket, st))
}

/// `GET /health`: "ok" while the ledger thread and the bank serve (as
/// getHealth), else 503 with the reason.
async fn health(State(st): State<AppState>) -> Response {
    match st.ledger.call(|l| Box::pin(async move { l.health().await })).await {
        Ok(Ok(())) => "ok".into_response(),
        Ok(Err(e)) | Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.message).into_response(),
    }
}

static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

async fn ws_connection(mut socket: WebSocket, st: AppState) {
    let id = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let (outbox, mut inbox) = rpc::outbox();
    let session = Session {
        ledger: st.ledger.clone(),
        conn: Some(Connection { id, outbox }),
        // subscriptions change nothing: no test control here
        foreign_origin: None,
    };
    let mut shutdown = st.shutdown.clone();
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                };
                // answered before any notification it causes is sent
                if let Some(response) = st.io.handle_request(&text, session.clone()).await {
                    if socket.send(Message::Text(response.into())).await.is_err() {
                        break;
                    }
                }
            }
            next = inbox.next() => match next {
                Next::Note(note) => {
                    if socket.send(Message::Text(note.into())).await.is_err() {
                        break;
                    }
                }
                Next::Overflowed => {
                    // 1008: policy violation (RFC 6455), the reason naming the bound
                    let reason = format!(
                        "notification queue full: more than {} notifications or {} bytes unread",
                        rpc::MAX_QUEUED_NOTIFICATIONS,
                        rpc::MAX_QUEUED_BYTES
                    );
                    let frame = CloseFrame { code: 1008, reason: reason.into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    break;
                }
                Next::Closed => break,
            },
            _ = shutdown.changed() => break,
        }
    }
    let _ = st
        .ledger
        .call(move |l| {
            Box::pin(async move {
                l.subs.drop_connection(id);
            })
        })
        .await;
}

/// Serves both listeners until `shutdown` turns true; the test controls
/// that change the ledger only with `test_controls`.
pub fn serve(
    http: TcpListener,
    ws: TcpListener,
    ledger: LedgerHandle,
    test_controls: bool,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
        .max_age(std::time::Duration::from_secs(86_400));
    let http_app = Router::new()
        .route("/", post(http_rpc))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(cors)
        .with_state(AppState {
            io: Arc::new(rpc::http(test_controls)),
            ledger: ledger.clone(),
            shutdown: shutdown.clone(),
        });
    let ws_app = Router::new().route("/", any(ws_upgrade)).with_state(AppState {
        io: Arc::new(rpc::ws()),
        ledger,
        shutdown: shutdown.clone(),
    });
    let until = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    vec![
        tokio::spawn({
            let stop = until(shutdown.clone());
            async move {
                if let Err(e) = axum::serve(http, http_app).with_graceful_shutdown(stop).await {
                    log::error!("localnet http: {e}");
                }
            }
        }),
        tokio::spawn({
            let stop = until(shutdown);
            async move {
                if let Err(e) = axum::serve(ws, ws_app).with_graceful_shutdown(stop).await {
                    log::error!("localnet websocket: {e}");
                }
            }
        }),
    ]
}
