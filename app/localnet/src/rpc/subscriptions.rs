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

use std::collections::BTreeMap;

use jsonrpc_core::{Error, Params, Value};
use serde::Serialize;
use solana_account::Account;
use solana_account_decoder::{UiAccountEncoding, UiDataSliceConfig};
use solana_pubkey::Pubkey;
use solana_rpc_client_types::config::{RpcAccountInfoConfig, RpcSignatureSubscribeConfig};
use solana_rpc_client_types::response::{
    ProcessedSignatureResult, ReceivedSignatureResult, RpcSignatureResult, SlotInfo,
};
use solana_signature::Signature;
use solana_transaction_error::TransactionError;
use tokio::sync::mpsc::UnboundedSender;

use super::{encode, invalid_param, method, parse_base58, with_context, Args, Connection, Io, Session};
use crate::ledger::Ledger;

#[derive(Clone)]
enum Kind {
    Account {
        address: Pubkey,
        encoding: UiAccountEncoding,
        data_slice: Option<UiDataSliceConfig>,
    },
    Signature {
        signature: Signature,
        received: bool,
    },
    Slot,
}

struct Sub {
    conn: u64,
    sink: UnboundedSender<String>,
    kind: Kind,
}

/// Every live subscription.
#[derive(Default)]
pub struct Registry {
    next: u64,
    subs: BTreeMap<u64, Sub>,
}

/// A JSON-RPC notification.
fn notification(method: &str, subscription: u64, result: impl Serialize) -> String {
    let mut params = serde_json::Map::new();
    params.insert("result".into(), serde_json::to_value(result).unwrap_or(Value::Null));
    params.insert("subscription".into(), subscription.into());
    let n = jsonrpc_core::Notification {
        jsonrpc: Some(jsonrpc_core::Version::V2),
        method: method.into(),
        params: Params::Map(params),
    };
    serde_json::to_string(&n).unwrap_or_default()
}

impl Registry {
    fn add(&mut self, conn: &Connection, kind: Kind) -> u64 {
        self.next += 1;
        self.subs.insert(
            self.next,
            Sub {
                conn: conn.id,
                sink: conn.sink.clone(),
                kind,
            },
        );
        self.next
    }

    fn remove(&mut self, conn: u64, id: u64, is_kind: fn(&Kind) -> bool) -> bool {
        match self.subs.get(&id) {
            Some(s) if s.conn == conn && is_kind(&s.kind) => self.subs.remove(&id).is_some(),
            _ => false,
        }
    }

    /// Drops every subscription of a closed connection.
    pub fn drop_connection(&mut self, conn: u64) {
        self.subs.retain(|_, s| s.conn != conn);
    }

    /// Tells slot subscribers about a new block.
    pub fn notify_slot(&mut self, slot: u64, parent: u64) {
        let info = SlotInfo {
            slot,
            parent,
            root: parent,
        };
        for (id, s) in &self.subs {
            if matches!(s.kind, Kind::Slot) {
                let _ = s.sink.send(notification("slotNotification", *id, info));
            }
        }
    }

    fn account_subs(
        &self,
        address: &Pubkey,
    ) -> Vec<(
        u64,
        UnboundedSender<String>,
        UiAccountEncoding,
        Option<UiDataSliceConfig>,
    )> {
        self.subs
            .iter()
            .filter_map(|(id, s)| match &s.kind {
                Kind::Account {
                    address: a,
                    encoding,
                    data_slice,
                } if a == address => Some((*id, s.sink.clone(), *encoding, *data_slice)),
                _ => None,
            })
            .collect()
    }
}

impl Ledger {
    /// Tells account subscribers of `keys` what they hold now.
    pub async fn notify_written(&mut self, keys: &[Pubkey]) -> Result<(), Error> {
        for key in keys {
            let subs = self.subs.account_subs(key);
            if subs.is_empty() {
                continue;
            }
            // a closed account is notified as agave does: no lamports, no data, system-owned
            let account = self.get_account(key).await?.unwrap_or_else(Account::default);
            for (id, sink, encoding, data_slice) in subs {
                match encode(self, key, &account, encoding, data_slice).await {
                    Ok(ui) => {
                        let _ = sink.send(notification("accountNotification", id, with_context(self.slot, ui)));
                    }
                    Err(e) => log::warn!("accountNotification {id} for {key}: {}", e.message),
                }
            }
        }
        Ok(())
    }

    /// Tells signature subscribers that asked for it that `signature` arrived.
    pub fn notify_received(&mut self, signature: &Signature) {
        for (id, s) in &self.subs.subs {
            if matches!(&s.kind, Kind::Signature { signature: sig, received: true } if sig == signature) {
                let result = RpcSignatureResult::ReceivedSignature(ReceivedSignatureResult::ReceivedSignature);
                let _ = s.sink.send(notification(
                    "signatureNotification",
                    *id,
                    with_context(self.slot, result),
                ));
            }
        }
    }

    /// Tells signature subscribers that `signature` was processed; their
    /// subscriptions end.
    pub fn notify_signature(&mut self, signature: &Signature, err: Option<TransactionError>) {
        let slot = self.slot;
        self.subs.subs.retain(|id, s| match &s.kind {
            Kind::Signature { signature: sig, .. } if sig == signature => {
                let result = RpcSignatureResult::ProcessedSignature(ProcessedSignatureResult {
                    err: err.clone().map(Into::into),
                });
                let _ = s
                    .sink
                    .send(notification("signatureNotification", *id, with_context(slot, result)));
                false
            }
            _ => true,
        });
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
        let config: RpcAccountInfoConfig = args.optional(1, "config")?.unwrap_or_default();
        let conn = connection(&s)?;
        let kind = Kind::Account {
            address,
            encoding: config.encoding.unwrap_or(UiAccountEncoding::Binary),
            data_slice: config.data_slice,
        };
        s.run(move |l| Box::pin(async move { Ok(l.subs.add(&conn, kind)) }))
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
        s.run(move |l| {
            Box::pin(async move {
                let id = l.subs.add(&conn, kind);
                if let Some(status) = l.history.status(&signature) {
                    // sent after the subscription id: the connection answers first
                    l.notify_signature(&signature, status.err);
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
        s.run(move |l| Box::pin(async move { Ok(l.subs.add(&conn, Kind::Slot)) }))
            .await
    });
    unsubscribe(io, "slotUnsubscribe", |k| matches!(k, Kind::Slot));
}
