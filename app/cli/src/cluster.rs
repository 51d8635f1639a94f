//! Cluster and signer resolution, like the Solana CLI: flags first, then
//! `~/.config/solana/cli/config.yml`, then defaults.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use solana_keypair::Keypair;

/// Expands the Solana CLI's URL shortcuts.
pub fn expand_url(url: &str) -> String {
    match url {
        "l" | "localhost" => "http://127.0.0.1:8899".into(),
        "d" | "devnet" => "https://api.devnet.solana.com".into(),
        "t" | "testnet" => "https://api.testnet.solana.com".into(),
        "m" | "mainnet-beta" => "https://api.mainnet-beta.solana.com".into(),
        other => other.into(),
    }
}

fn config_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".config/solana/cli/config.yml"))
}

/// `(json_rpc_url, keypair_path)` from the Solana CLI config, when present.
pub fn solana_config() -> (Option<String>, Option<PathBuf>) {
    let Some(path) = config_path() else { return (None, None) };
    let Ok(text) = std::fs::read_to_string(path) else {
        return (None, None);
    };
    let mut url = None;
    let mut keypair = None;
    for line in text.lines() {
        let mut parts = line.splitn(2, ':');
        let (k, v) = (
            parts.next().unwrap_or("").trim(),
            parts.next().unwrap_or("").trim().trim_matches(['"', '\'']),
        );
        match k {
            "json_rpc_url" if !v.is_empty() => url = Some(v.to_string()),
            "keypair_path" if !v.is_empty() => keypair = Some(PathBuf::from(v)),
            _ => {}
        }
    }
    (url, keypair)
}

/// The cluster URL: `--url`, else the Solana CLI config, else localhost.
pub fn url(flag: &Option<String>) -> String {
    let (cfg, _) = solana_config();
    expand_url(flag.as_deref().or(cfg.as_deref()).unwrap_or("l"))
}

/// The signer: `--keypair`, else the Solana CLI config's, else `~/.config/solana/id.json`.
pub fn keypair(flag: &Option<PathBuf>) -> Result<Keypair> {
    let (_, cfg) = solana_config();
    let path = flag
        .clone()
        .or(cfg)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config/solana/id.json")))
        .ok_or_else(|| anyhow!("no keypair: pass --keypair FILE or run `solana-keygen new`"))?;
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading keypair {} (pass --keypair FILE, or create one with `solana-keygen new`)",
            path.display()
        )
    })?;
    let bytes: Vec<u8> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a keypair file (a JSON array of 64 bytes)", path.display()))?;
    Keypair::try_from(bytes.as_slice()).map_err(|e| anyhow!("{} is not a valid keypair: {e}", path.display()))
}
