//! HTTP and websocket on loopback (axum): JSON-RPC over `POST /` on the
//! port, `GET /health`, subscriptions on port + 1. CORS is open (any origin,
//! any header: a browser's preflight with `content-type, solana-client`
//! passes), and a request body over [`MAX_BODY`] is refused with HTTP 413
//! before it is read.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use jsonrpc_core::{Error, ErrorCode};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::cors::{Any, CorsLayer};

use crate::ledger::LedgerHandle;
use crate::rpc::{self, Connection, Io, Session};

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

async fn http_rpc(State(st): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
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

static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

async fn ws_connection(mut socket: WebSocket, st: AppState) {
    let id = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let (sink, mut notes) = tokio::sync::mpsc::unbounded_channel();
    let session = Session {
        ledger: st.ledger.clone(),
        conn: Some(Connection { id, sink }),
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
            Some(note) = notes.recv() => {
                if socket.send(Message::Text(note.into())).await.is_err() {
                    break;
                }
            }
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

/// Serves both listeners until `shutdown` turns true.
pub fn serve(
    http: TcpListener,
    ws: TcpListener,
    ledger: LedgerHandle,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
        .max_age(std::time::Duration::from_secs(86_400));
    let http_app = Router::new()
        .route("/", post(http_rpc))
        .route("/health", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(cors)
        .with_state(AppState {
            io: Arc::new(rpc::http()),
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
