//! `cover migrate`: apply a deployment file (pool, then markets) to a cluster.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Subcommand;
use coverage_sdk::config::{self, Deployment};
use coverage_sdk::transport::{RpcTransport, SendMode, Transport};
use serde_json::json;
use solana_signer::Signer;

use crate::{cluster, Cli};

use super::{key, say};

/// `cover migrate`.
#[derive(Subcommand, Debug)]
pub enum MigrateCmd {
    /// Create what the deployment describes and the cluster lacks (pool, then markets).
    Apply {
        /// Deployment file (see migrations/).
        #[arg(long)]
        config: PathBuf,
        /// Print what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub(super) async fn run_plan(cli: &Cli, path: &PathBuf, dry_run: bool, only: Option<&str>) -> Result<()> {
    let d = Deployment::parse(&std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)?;
    let signer = cluster::keypair(&cli.keypair)?;
    let mut t = RpcTransport::new(&cluster::url(&cli.url), signer.insecure_clone());
    let mint = key(d
        .pool
        .collateral_mint
        .as_deref()
        .ok_or_else(|| anyhow!("the config needs pool.collateral_mint"))?)?;
    let treasury = key(d
        .pool
        .treasury
        .as_deref()
        .ok_or_else(|| anyhow!("the config needs pool.treasury (a token account of the mint)"))?)?;
    let authority = match &d.pool.authority {
        Some(a) => key(a)?,
        None => signer.pubkey(),
    };
    let token_program = t
        .account(&mint)
        .await?
        .ok_or_else(|| anyhow!("mint {mint} not found on {}", cluster::url(&cli.url)))?
        .owner;
    let (keys, steps) = config::plan(&mut t, &d, mint, treasury, token_program, authority).await?;
    let steps: Vec<_> = steps
        .into_iter()
        .filter(|s| only.is_none_or(|o| s.description.starts_with(o)))
        .collect();
    let plan = |signatures: &[String]| -> Vec<serde_json::Value> {
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut v = json!({"step": s.description, "instructions": s.instructions.len()});
                if let Some(sig) = signatures.get(i) {
                    v["signature"] = json!(sig);
                }
                v
            })
            .collect()
    };
    if dry_run {
        if cli.json {
            println!(
                "{}",
                json!({ "pool": keys.pool.to_string(), "dry_run": true, "steps": plan(&[]) })
            );
        } else {
            println!("pool {} — would send {} transaction(s):", keys.pool, steps.len());
            for s in &steps {
                println!("  {} ({} instruction(s))", s.description, s.instructions.len());
            }
        }
        return Ok(());
    }
    let auth = if authority == signer.pubkey() {
        Some(&signer)
    } else {
        None
    };
    let sigs = config::apply(&mut t, &steps, auth, SendMode::Send).await?;
    if cli.json {
        // one JSON object, as every command prints
        println!(
            "{}",
            json!({ "pool": keys.pool.to_string(), "dry_run": false, "steps": plan(&sigs) })
        );
    } else {
        if steps.is_empty() {
            println!(
                "pool {}: nothing to do, the cluster has everything the file describes",
                keys.pool
            );
        }
        for (s, sig) in steps.iter().zip(sigs) {
            say(cli, &s.description, &sig, json!({}));
        }
    }
    Ok(())
}

/// `cover migrate …`.
pub async fn migrate(cli: &Cli, cmd: &MigrateCmd) -> Result<()> {
    match cmd {
        MigrateCmd::Apply { config, dry_run } => run_plan(cli, config, *dry_run, None).await,
    }
}
