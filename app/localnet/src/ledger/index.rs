//! The address index. The bank cannot list accounts by owner, so the ledger
//! remembers every address it has seen — the deployment's, airdrop and
//! faucet targets, test writes, every account key of every processed
//! transaction (lookup-table entries included) — with its owner as of the
//! last time it was read. Scans read only the candidates of one owner and
//! check them against the bank again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use solana_account::Account;
use solana_pubkey::Pubkey;

/// Owners of every address seen.
#[derive(Default)]
pub struct Index {
    owner_of: HashMap<Pubkey, Pubkey>,
    by_owner: BTreeMap<Pubkey, BTreeSet<Pubkey>>,
}

impl Index {
    /// Records `address` as it is now (`None`: it does not exist).
    pub fn observe(&mut self, address: &Pubkey, account: Option<&Account>) {
        let owner = account.filter(|a| a.lamports > 0).map(|a| a.owner);
        let old = self.owner_of.get(address).copied();
        if old == owner {
            return;
        }
        if let Some(old) = old {
            if let Some(set) = self.by_owner.get_mut(&old) {
                set.remove(address);
                if set.is_empty() {
                    self.by_owner.remove(&old);
                }
            }
            self.owner_of.remove(address);
        }
        if let Some(owner) = owner {
            self.owner_of.insert(*address, owner);
            self.by_owner.entry(owner).or_default().insert(*address);
        }
    }

    /// Whether `address` was seen existing.
    pub fn contains(&self, address: &Pubkey) -> bool {
        self.owner_of.contains_key(address)
    }

    /// Addresses last seen owned by `owner`, in address order.
    pub fn owned_by(&self, owner: &Pubkey) -> Vec<Pubkey> {
        self.by_owner
            .get(owner)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(owner: Pubkey, lamports: u64) -> Account {
        Account {
            lamports,
            data: vec![],
            owner,
            executable: false,
            rent_epoch: 0,
        }
    }

    #[test]
    fn owners_follow_the_last_observation() {
        let (a, p, q) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        let mut i = Index::default();
        i.observe(&a, Some(&account(p, 1)));
        assert_eq!(i.owned_by(&p), vec![a]);
        i.observe(&a, Some(&account(q, 1)));
        assert!(i.owned_by(&p).is_empty());
        assert_eq!(i.owned_by(&q), vec![a]);
        // closed: gone from every owner
        i.observe(&a, Some(&account(q, 0)));
        assert!(i.owned_by(&q).is_empty());
        assert!(i.owner_of.is_empty() && i.by_owner.is_empty());
    }
}
