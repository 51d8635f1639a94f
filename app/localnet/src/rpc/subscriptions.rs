//! Subscriptions over the websocket (agave's `rpc_pubsub`): enough for
//! @solana/kit's `sendAndConfirmTransactionFactory` and for a page that
//! updates live.
//!
//! accountSubscribe / accountUnsubscribe, signatureSubscribe /
//! signatureUnsubscribe, slotSubscribe / slotUnsubscribe.
//!
//! The registry lives in the ledger, so a subscription is registered in
//! order with the transactions it watches: a signature already processed is
//! notified at once (after the subscription id), then the subscription ends,
//! as agave's does.
//!
//! Commitment, as for every request ([`crate::ledger::View`]): at
//! `processed` and `confirmed` a change is notified as it happens; at
//! `finalized` — and without a commitment, agave's default — when the block
//! holding it closes (an account written several times in the block is
//! notified once, as it is then; a change outside any transaction, such as
//! a feed republished or a test control's write, rides the next block that
//! closes). An account notification encodes the whole account as agave's
//! pubsub does (no `dataSlice`; base58 of more than 128 bytes is the account
//! decoder's placeholder text: ask for base64).
//!
//! Bounds: at most [`MAX_SUBSCRIPTIONS_PER_CONNECTION`] per connection
//! (agave's refusal, naming the limit); a connection whose queue of unsent
//! notifications is full is closed ([`super::Outbox`]); the subscriptions
//! are indexed by account and signature, so a write costs only its own
//! subscribers.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jsonrpc_core::{Error, ErrorCode};
use serde::Serialize;
use solana_account::Account;
use solana_account_decoder::UiAccountEncoding;
use solana_pubkey::Pubkey;
use solana_rpc_client_types::config::{RpcAccountInfoConfig, RpcSignatureSubscribeConfig};
use solana_rpc_client_types::response::{
    ProcessedSignatureResult, ReceivedSignatureResult, RpcSignatureResult, SlotInfo,
};
use solana_signature::Signature;
use solana_transaction_error::TransactionError;

use super::{
    commitment, encode_any, invalid_param, method, parse_base58, with_context, Args, Connection, Io, Outbox, Session,
};
use crate::ledger::{is_finalized, Ledger};

/// The most subscriptions one websocket connection may hold.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 1_000;

#[derive(Clone, Copy)]
enum Kind {
    Account {
        address: Pubkey,
        encoding: UiAccountEncoding,
    },
    Signature {
        signature: Signature,
        received: bool,
    },
    Slot,
}

/// A subscription to notify (a copy of what the registry holds).
struct Target {
    id: u64,
    conn: u64,
    outbox: Outbox,
    kind: Kind,
    finalized: bool,
}

struct Sub {
    conn: u64,
    outbox: Outbox,
    kind: Kind,
    /// Notified when the block closes (`finalized`), not as it happens.
    finalized: bool,
}

/// Every live subscription, indexed.
#[derive(Default)]
pub struct Registry {
    next: u64,
    subs: HashMap<u64, Sub>,
    by_account: HashMap<Pubkey, BTreeSet<u64>>,
    by_signature: HashMap<Signature, BTreeSet<u64>>,
    slots: BTreeSet<u64>,
    by_conn: HashMap<u64, BTreeSet<u64>>,
    /// Accounts written in the open block that `finalized` subscribers watch.
    closing_accounts: BTreeSet<Pubkey>,
    /// Signatures processed in the open block that `finalized` subscribers
    /// watch, with their results.
    closing_signatures: BTreeMap<Signature, Option<TransactionError>>,
}

/// A JSON-RPC notification whose `result` is already JSON (serialized once
/// for every subscriber of a change).
fn notification(method: &str, subscription: u64, result: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{{"result":{result},"subscription":{subscription}}}}}"#)
}

fn json(value: impl Serialize) -> String {
    serde_json::to_string(&value).unwrap_or_else(|_| "null".into())
}

/// agave's refusal past its node's limit, naming the connection's.
fn limit_reached() -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: format!(
            "Internal Error: Subscription refused. Connection subscription limit reached: at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection"
        ),
        data: None,
    }
}

impl Registry {
    fn add(&mut self, conn: &Connection, kind: Kind, finalized: bool) -> Result<u64, Error> {
        let mine = self.by_conn.entry(conn.id).or_default();
        if mine.len() >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
            return Err(limit_reached());
        }
        self.next += 1;
        let id = self.next;
        mine.insert(id);
        match kind {
            Kind::Account { address, .. } => {
                self.by_account.entry(address).or_default().insert(id);
            }
            Kind::Signature { signature, .. } => {
                self.by_signature.entry(signature).or_default().insert(id);
            }
            Kind::Slot => {
                self.slots.insert(id);
            }
        }
        self.subs.insert(
            id,
            Sub {
                conn: conn.id,
                outbox: conn.outbox.clone(),
                kind,
                finalized,
            },
        );
        Ok(id)
    }

    /// Removes subscription `id` from every index.
    fn forget(&mut self, id: u64) -> Option<Sub> {
        let sub = self.subs.remove(&id)?;
        fn unindex<K: std::hash::Hash + Eq>(map: &mut HashMap<K, BTreeSet<u64>>, key: K, id: u64) {
            if let Some(set) = map.get_mut(&key) {
                set.remove(&id);
                if set.is_empty() {
                    map.remove(&key);
                }
            }
        }
        match sub.kind {
            Kind::Account { address, .. } => unindex(&mut self.by_account, address, id),
            Kind::Signature { signature, .. } => unindex(&mut self.by_signature, signature, id),
            Kind::Slot => {
                self.slots.remove(&id);
            }
        }
        unindex(&mut self.by_conn, sub.conn, id);
        Some(sub)
    }

    fn remove(&mut self, conn: u64, id: u64, is_kind: fn(&Kind) -> bool) -> bool {
        match self.subs.get(&id) {
            Some(s) if s.conn == conn && is_kind(&s.kind) => self.forget(id).is_some(),
            _ => false,
        }
    }

    /// Drops every subscription of a closed connection.
    pub fn drop_connection(&mut self, conn: u64) {
        for id in self.by_conn.get(&conn).cloned().unwrap_or_default() {
            self.forget(id);
        }
    }

    /// Subscriptions of `ids` (a snapshot: sending may drop connections).
    fn of(&self, ids: Option<&BTreeSet<u64>>) -> Vec<Target> {
        ids.into_iter()
            .flatten()
            .filter_map(|id| {
                self.subs.get(id).map(|s| Target {
                    id: *id,
                    conn: s.conn,
                    outbox: s.outbox.clone(),
                    kind: s.kind,
                    finalized: s.finalized,
                })
            })
            .collect()
    }

    /// Queues `note` for `to`; a connection whose queue is full loses its
    /// subscriptions (it is being closed).
    fn send(&mut self, to: &Target, method: &str, result: &str) {
        if !to.outbox.push(notification(method, to.id, result)) {
            self.drop_connection(to.conn);
        }
    }

    /// Tells slot subscribers about a new block.
    pub fn notify_slot(&mut self, slot: u64, parent: u64) {
        let result = json(SlotInfo {
            slot,
            parent,
            root: parent,
        });
        let slots = self.slots.clone();
        for to in self.of(Some(&slots)) {
            self.send(&to, "slotNotification", &result);
        }
    }
}

impl Ledger {
    /// Tells account subscribers of `keys` what they hold now: at once at
    /// `processed` and `confirmed`, when the block closes at `finalized`.
    pub async fn notify_written(&mut self, keys: &[Pubkey]) -> Result<(), Error> {
        for key in keys {
            let subs = self.subs.of(self.subs.by_account.get(key));
            if subs.iter().any(|t| t.finalized) {
                self.subs.closing_accounts.insert(*key);
            }
            let now: Vec<_> = subs.into_iter().filter(|t| !t.finalized).collect();
            self.notify_account(key, now, self.slot).await?;
        }
        Ok(())
    }

    /// Notifies `subs` of `key` as it is now, with context `slot`.
    async fn notify_account(&mut self, key: &Pubkey, subs: Vec<Target>, slot: u64) -> Result<(), Error> {
        if subs.is_empty() {
            return Ok(());
        }
        // a closed account is notified as agave does: no lamports, no data, system-owned
        let account = self.get_account(key).await?.unwrap_or_else(Account::default);
        let mut encoded: HashMap<UiAccountEncoding, String> = HashMap::new();
        for to in subs {
            let Kind::Account { encoding, .. } = to.kind else {
                continue;
            };
            let result = match encoded.get(&encoding) {
                Some(r) => r.clone(),
                None => {
                    let ui = encode_any(self, key, &account, encoding, None).await?;
                    let r = json(with_context(slot, ui));
                    encoded.insert(encoding, r.clone());
                    r
                }
            };
            self.subs.send(&to, "accountNotification", &result);
        }
        Ok(())
    }

    /// Tells signature subscribers that asked for it that `signature` arrived.
    pub fn notify_received(&mut self, signature: &Signature) {
        let result = json(with_context(
            self.slot,
            RpcSignatureResult::ReceivedSignature(ReceivedSignatureResult::ReceivedSignature),
        ));
        for to in self.subs.of(self.subs.by_signature.get(signature)) {
            if matches!(to.kind, Kind::Signature { received: true, .. }) {
                self.subs.send(&to, "signatureNotification", &result);
            }
        }
    }

    /// Tells signature subscribers that `signature` was processed in the
    /// block at `slot`, those at `finalized` once that block closed; the
    /// subscriptions notified end.
    pub fn notify_signature(&mut self, signature: &Signature, err: Option<TransactionError>, slot: u64) {
        let closed = slot <= self.parent_slot;
        let result = json(with_context(
            self.slot,
            RpcSignatureResult::ProcessedSignature(ProcessedSignatureResult {
                err: err.clone().map(Into::into),
            }),
        ));
        for to in self.subs.of(self.subs.by_signature.get(signature)) {
            if to.finalized && !closed {
                self.subs.closing_signatures.insert(*signature, err.clone());
                continue;
            }
            self.subs.forget(to.id);
            self.subs.send(&to, "signatureNotification", &result);
        }
    }

    /// What the block that just closed changed, to its `finalized`
    /// subscribers (context: that block's slot, now the parent).
    pub(crate) async fn notify_closed(&mut self) -> Result<(), Error> {
        let closed = self.parent_slot;
        for key in std::mem::take(&mut self.subs.closing_accounts) {
            let subs: Vec<_> = self
                .subs
                .of(self.subs.by_account.get(&key))
                .into_iter()
                .filter(|t| t.finalized)
                .collect();
            self.notify_account(&key, subs, closed).await?;
        }
        for (signature, err) in std::mem::take(&mut self.subs.closing_signatures) {
            let result = json(with_context(
                closed,
                RpcSignatureResult::ProcessedSignature(ProcessedSignatureResult {
                    err: err.map(Into::into),
                }),
            ));
            for to in self.subs.of(self.subs.by_signature.get(&signature)) {
                if to.finalized {
                    self.subs.forget(to.id);
                    self.subs.send(&to, "signatureNotification", &result);
                }
            }
        }
        Ok(())
    }
}

fn connection(s: &Session) -> Result<Connection, Error> {
    s.conn.clone().ok_or_else(Error::invalid_request)
}

fn unsubscribe(io: &mut Io, name: &'static str, is_kind: fn(&Kind) -> bool) {
    method(io, name, move |args: Args, s: Session| async move {
        args.at_most(1)?;
        let id: u64 = args.required(0, "subscription")?;
        let conn = connection(&s)?;
        s.run(move |l| {
            Box::pin(async move {
                if l.subs.remove(conn.id, id, is_kind) {
                    Ok(true)
                } else {
                    Err(invalid_param("subscription", format!("invalid subscription id {id}")))
                }
            })
        })
        .await
    });
}

/// Registers the group.
pub fn register(io: &mut Io) {
    method(io, "accountSubscribe", |args, s| async move {
        args.at_most(2)?;
        let address = args.pubkey(0, "pubkey")?;
        // dataSlice and minContextSlot are accepted and, as by agave, not used
        let config: RpcAccountInfoConfig = args.optional(1, "config")?.unwrap_or_default();
        let conn = connection(&s)?;
        let kind = Kind::Account {
            address,
            encoding: config.encoding.unwrap_or(UiAccountEncoding::Binary),
        };
        let finalized = is_finalized(commitment(config.commitment));
        s.run(move |l| Box::pin(async move { l.subs.add(&conn, kind, finalized) }))
            .await
    });
    unsubscribe(io, "accountUnsubscribe", |k| matches!(k, Kind::Account { .. }));
    method(io, "signatureSubscribe", |args, s| async move {
        args.at_most(2)?;
        let signature: Signature = parse_base58(&args.required::<String>(0, "signature")?, "signature")?;
        let config: RpcSignatureSubscribeConfig = args.optional(1, "config")?.unwrap_or_default();
        let conn = connection(&s)?;
        let kind = Kind::Signature {
            signature,
            received: config.enable_received_notification.unwrap_or(false),
        };
        let finalized = is_finalized(commitment(config.commitment));
        s.run(move |l| {
            Box::pin(async move {
                let id = l.subs.add(&conn, kind, finalized)?;
                if let Some(status) = l.history.status(&signature, l.parent_slot) {
                    // sent after the subscription id: the connection answers first
                    l.notify_signature(&signature, status.err, status.slot);
                }
                Ok(id)
            })
        })
        .await
    });
    unsubscribe(io, "signatureUnsubscribe", |k| matches!(k, Kind::Signature { .. }));
    method(io, "slotSubscribe", |args, s| async move {
        args.at_most(0)?;
        let conn = connection(&s)?;
        s.run(move |l| Box::pin(async move { l.subs.add(&conn, Kind::Slot, false) }))
            .await
    });
    unsubscribe(io, "slotUnsubscribe", |k| matches!(k, Kind::Slot));
}
