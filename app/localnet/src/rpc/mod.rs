//! The JSON-RPC surface, grouped as agave's and surfpool's `rpc/` modules
//! are: one file per group, each registering its methods on a jsonrpc-core
//! handler (the JSON-RPC 2.0 envelope, batches, -32700/-32600/-32601 come
//! from jsonrpc-core, as in agave). Requests and responses are the Solana
//! crates' own types; parameters are positional, as Solana's, and a bad one
//! is -32602 naming it.

pub mod accounts;
pub mod accounts_scan;
pub mod bank_data;
pub mod full;
pub mod minimal;
pub mod subscriptions;
pub mod test_controls;

use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jsonrpc_core::{Error, ErrorCode, MetaIoHandler, Params, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;
use solana_account::Account;
use solana_account_decoder::parse_account_data::AccountAdditionalDataV3;
use solana_account_decoder::{encode_ui_account, UiAccount, UiAccountEncoding, UiDataSliceConfig, MAX_BASE58_BYTES};
use solana_commitment_config::CommitmentLevel;
use solana_pubkey::Pubkey;
use solana_rpc_client_api::custom_error::RpcCustomError;
use solana_rpc_client_types::config::RpcContextConfig;
use solana_rpc_client_types::response::{Response as RpcResponse, RpcResponseContext};
use tokio::sync::{mpsc, Notify};

use crate::ledger::{internal, Ledger, LedgerHandle, LocalFuture, View};

/// The most notifications waiting to be written to one websocket connection.
pub const MAX_QUEUED_NOTIFICATIONS: usize = 4_096;
/// The most bytes of notifications waiting for one websocket connection: a
/// client that reads slower than its subscriptions produce is disconnected
/// (as agave drops a subscriber that lags behind its queue).
pub const MAX_QUEUED_BYTES: usize = 16 * 1024 * 1024;

/// Notifications on their way to one websocket connection: a bounded queue
/// the ledger thread never waits on. When it is full the connection is
/// closed (its subscriptions end with it).
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<String>,
    bytes: Arc<AtomicUsize>,
    full: Arc<Notify>,
}

/// The connection's end of its [`Outbox`].
pub struct Inbox {
    rx: mpsc::Receiver<String>,
    bytes: Arc<AtomicUsize>,
    full: Arc<Notify>,
}

/// A bounded outbox and its inbox.
pub fn outbox() -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::channel(MAX_QUEUED_NOTIFICATIONS);
    let (bytes, full) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
    (
        Outbox {
            tx,
            bytes: bytes.clone(),
            full: full.clone(),
        },
        Inbox { rx, bytes, full },
    )
}

impl Outbox {
    /// Queues `note`; false when the queue is full (or the connection gone):
    /// the connection is then told to close.
    pub fn push(&self, note: String) -> bool {
        let len = note.len();
        let queued = self.bytes.fetch_add(len, Ordering::Relaxed) + len;
        if queued > MAX_QUEUED_BYTES || self.tx.try_send(note).is_err() {
            self.bytes.fetch_sub(len, Ordering::Relaxed);
            self.full.notify_one();
            return false;
        }
        true
    }
}

/// What a connection's [`Inbox`] holds next.
pub enum Next {
    /// A notification to write.
    Note(String),
    /// The queue overflowed: the connection is to be closed.
    Overflowed,
    /// Every outbox is gone.
    Closed,
}

impl Inbox {
    /// The next notification to write, or the overflow (first: a connection
    /// that overflowed is closed before writing what is queued).
    pub async fn next(&mut self) -> Next {
        tokio::select! {
            biased;
            _ = self.full.notified() => Next::Overflowed,
            note = self.rx.recv() => match note {
                Some(note) => {
                    self.bytes.fetch_sub(note.len(), Ordering::Relaxed);
                    Next::Note(note)
                }
                None => Next::Closed,
            },
        }
    }
}

/// A websocket connection (for subscriptions).
#[derive(Clone)]
pub struct Connection {
    /// Unique per connection.
    pub id: u64,
    /// Notifications to send it.
    pub outbox: Outbox,
}

/// Per-request metadata: the ledger, the websocket connection if any, and
/// where an HTTP request came from.
#[derive(Clone)]
pub struct Session {
    /// The ledger thread.
    pub ledger: LedgerHandle,
    /// The websocket connection the request came on.
    pub conn: Option<Connection>,
    /// The `Origin` of the web page that sent the request, when that page is
    /// not on this machine (test controls refuse it).
    pub foreign_origin: Option<String>,
}

impl jsonrpc_core::Metadata for Session {}

impl Session {
    /// Runs `f` on the ledger thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Ledger) -> LocalFuture<'a, Result<T, Error>> + Send + 'static,
    {
        self.ledger.call(f).await?
    }
}

/// The handler type.
pub type Io = MetaIoHandler<Session>;

/// Every HTTP method: reads, writes, `localnet_info`, and with
/// `test_controls` the test controls that change the ledger.
pub fn http(test_controls: bool) -> Io {
    let mut io = Io::default();
    minimal::register(&mut io);
    bank_data::register(&mut io);
    accounts::register(&mut io);
    accounts_scan::register(&mut io);
    full::register(&mut io);
    test_controls::register(&mut io, test_controls);
    io
}

/// The websocket methods: subscriptions.
pub fn ws() -> Io {
    let mut io = Io::default();
    subscriptions::register(&mut io);
    io
}

/// Positional parameters.
pub struct Args(Vec<Value>);

/// -32602 naming the parameter.
pub fn invalid_param(name: &str, reason: impl std::fmt::Display) -> Error {
    Error::invalid_params(format!("Invalid param `{name}`: {reason}"))
}

impl Args {
    fn new(params: Params) -> Result<Self, Error> {
        match params {
            Params::None => Ok(Self(vec![])),
            Params::Array(v) => Ok(Self(v)),
            Params::Map(_) => Err(Error::invalid_params(
                "Invalid params: expected an array of positional parameters",
            )),
        }
    }

    /// Fails when more than `n` parameters were given.
    pub fn at_most(&self, n: usize) -> Result<(), Error> {
        if self.0.len() > n {
            return Err(Error::invalid_params(format!(
                "Invalid params: expected at most {n} parameters, got {}",
                self.0.len()
            )));
        }
        Ok(())
    }

    /// Parameter `i`, which must be present.
    pub fn required<T: DeserializeOwned>(&self, i: usize, name: &str) -> Result<T, Error> {
        match self.0.get(i) {
            None | Some(Value::Null) => Err(invalid_param(name, "missing")),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| invalid_param(name, e)),
        }
    }

    /// Parameter `i`, if present (`null` counts as absent).
    pub fn optional<T: DeserializeOwned>(&self, i: usize, name: &str) -> Result<Option<T>, Error> {
        match self.0.get(i) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| invalid_param(name, e)),
        }
    }

    /// Parameter `i` as an address.
    pub fn pubkey(&self, i: usize, name: &str) -> Result<Pubkey, Error> {
        parse_base58(&self.required::<String>(i, name)?, name)
    }

    /// Parameter `i`: a list of at most `max` base58 values (addresses,
    /// signatures), absent meaning empty.
    pub fn base58_list<T: FromStr>(&self, i: usize, name: &str, max: usize) -> Result<Vec<T>, Error>
    where
        T::Err: std::fmt::Debug,
    {
        let list: Vec<String> = self.optional(i, name)?.unwrap_or_default();
        if list.len() > max {
            return Err(invalid_param(name, format!("too many inputs provided; max {max}")));
        }
        list.iter().map(|s| parse_base58(s, name)).collect()
    }
}

/// An address, signature or hash from base58, or -32602 naming `name`.
pub fn parse_base58<T: FromStr>(s: &str, name: &str) -> Result<T, Error>
where
    T::Err: std::fmt::Debug,
{
    s.parse().map_err(|e| {
        let what = std::any::type_name::<T>().rsplit("::").next().unwrap_or("value");
        invalid_param(name, format!("{s:?} is not a base58 {what} ({e:?})"))
    })
}

/// Registers `name`: `f` gets the parameters and the session; its result is serialized.
pub fn method<F, Fut, T>(io: &mut Io, name: &'static str, f: F)
where
    F: Fn(Args, Session) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
    T: Serialize,
{
    io.add_method_with_meta(name, move |params: Params, session: Session| {
        let fut = Args::new(params).map(|args| f(args, session));
        async move { serde_json::to_value(fut?.await?).map_err(internal) }
    });
}

/// Registers `name [config?]` (commitment, minContextSlot): a value read
/// from the ledger by `f`, given the block the commitment asked for names.
pub fn context_method<T>(io: &mut Io, name: &'static str, f: fn(&Ledger, View) -> T)
where
    T: Serialize + Send + 'static,
{
    method(io, name, move |args, s| async move {
        args.at_most(1)?;
        let config: RpcContextConfig = args.optional(0, "config")?.unwrap_or_default();
        s.run(move |l| {
            Box::pin(async move {
                let view = at(l, commitment(config.commitment), config.min_context_slot)?;
                Ok(f(l, view))
            })
        })
        .await
    });
}

/// The commitment level of an optional config.
pub fn commitment(config: Option<solana_commitment_config::CommitmentConfig>) -> Option<CommitmentLevel> {
    config.map(|c| c.commitment)
}

/// The block a request at `commitment` names, checked against its
/// `minContextSlot`.
pub fn at(ledger: &Ledger, commitment: Option<CommitmentLevel>, min_context_slot: Option<u64>) -> Result<View, Error> {
    let view = ledger.view(commitment);
    check_min_context_slot(view, min_context_slot)?;
    Ok(view)
}

/// A response with its context slot.
pub fn with_context<T>(slot: u64, value: T) -> RpcResponse<T> {
    RpcResponse {
        context: RpcResponseContext::new(slot),
        value,
    }
}

/// The standard error when the block asked for is behind `minContextSlot`.
pub fn check_min_context_slot(view: View, min_context_slot: Option<u64>) -> Result<(), Error> {
    match min_context_slot {
        Some(min) if view.slot < min => Err(RpcCustomError::MinContextSlotNotReached {
            context_slot: view.slot,
        }
        .into()),
        _ => Ok(()),
    }
}

/// Encodes an account for a read as agave's RPC does: base58 refused over
/// 128 bytes; otherwise as [`encode_any`].
pub async fn encode(
    ledger: &mut Ledger,
    pubkey: &Pubkey,
    account: &Account,
    encoding: UiAccountEncoding,
    data_slice: Option<UiDataSliceConfig>,
) -> Result<UiAccount, Error> {
    let len = data_slice
        .map(|s| s.length.min(account.data.len().saturating_sub(s.offset)))
        .unwrap_or(account.data.len());
    if matches!(encoding, UiAccountEncoding::Binary | UiAccountEncoding::Base58) && len > MAX_BASE58_BYTES {
        return Err(Error {
            code: ErrorCode::InvalidRequest,
            message: format!(
                "Encoded binary (base 58) data should be less than {MAX_BASE58_BYTES} bytes, please use Base64 encoding."
            ),
            data: None,
        });
    }
    encode_any(ledger, pubkey, account, encoding, data_slice).await
}

/// Encodes an account as the account decoder does, refusing nothing (what
/// agave's pubsub sends): token accounts parsed with their mint's decimals
/// for `jsonParsed` (which falls back to base64 for data no parser knows);
/// base58 of more than 128 bytes is the decoder's placeholder text.
pub async fn encode_any(
    ledger: &mut Ledger,
    pubkey: &Pubkey,
    account: &Account,
    encoding: UiAccountEncoding,
    data_slice: Option<UiDataSliceConfig>,
) -> Result<UiAccount, Error> {
    if encoding == UiAccountEncoding::JsonParsed && spl_generic_token::is_known_spl_token_id(&account.owner) {
        let mint = solana_account_decoder::parse_token::get_token_account_mint(&account.data);
        let additional = match mint {
            Some(mint) => ledger.mint_data(&mint).await?,
            None => None,
        };
        let additional = AccountAdditionalDataV3 {
            spl_token_additional_data: additional,
        };
        return Ok(encode_ui_account(pubkey, account, encoding, Some(additional), None));
    }
    Ok(encode_ui_account(pubkey, account, encoding, None, data_slice))
}
