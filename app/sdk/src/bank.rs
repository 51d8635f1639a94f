//! The in-process bank transport: solana-program-test's bank with the real
//! coverage_pool program (run natively, or on the SBF VM from its ELF with
//! `COVERAGE_SBF=1`: [`runtime`]) and the example integrator loaded,
//! the real SPL Token programs, and a clock the caller controls. No validator
//! to install: `cover demo` and `cover backtest` run here.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::{anyhow, Result};
use solana_account::Account;
use solana_keypair::Keypair;
use solana_program_test::ProgramTestContext;
use solana_signer::Signer;

use crate::pyth::PriceUpdate;
use crate::transport::{SendMode, Transport};
use crate::tx::lookup_table::state::LookupTableMeta;
use crate::tx::AddressLookupTableAccount;
use solana_transaction::versioned::VersionedTransaction;

mod native {
    use anchor_lang::solana_program::account_info::AccountInfo;
    use anchor_lang::solana_program::entrypoint::ProgramResult;
    use anchor_lang::solana_program::pubkey::Pubkey;

    pub fn pool_entry<'a, 'b, 'c, 'd>(id: &'a Pubkey, accs: &'b [AccountInfo<'c>], data: &'d [u8]) -> ProgramResult {
        // SAFETY: every reference lives for the whole call (see TOOLCHAIN.md);
        // Anchor's entry wants them all with the accounts' lifetime.
        let id: &'c Pubkey = unsafe { std::mem::transmute(id) };
        let accs: &'c [AccountInfo<'c>] = unsafe { std::mem::transmute(accs) };
        let data: &'c [u8] = unsafe { std::mem::transmute(data) };
        coverage_pool::entry(id, accs, data)
    }

    pub fn lender_entry<'a, 'b, 'c, 'd>(id: &'a Pubkey, accs: &'b [AccountInfo<'c>], data: &'d [u8]) -> ProgramResult {
        // SAFETY: as above.
        let id: &'c Pubkey = unsafe { std::mem::transmute(id) };
        let accs: &'c [AccountInfo<'c>] = unsafe { std::mem::transmute(accs) };
        let data: &'c [u8] = unsafe { std::mem::transmute(data) };
        example_lender::entry(id, accs, data)
    }

    pub fn program_test() -> solana_program_test::ProgramTest {
        let mut pt = solana_program_test::ProgramTest::default();
        // native even when SBF_OUT_DIR happens to be set (`runtime()` decides)
        pt.prefer_bpf(false);
        for feature in super::INACTIVE_ON_MAINNET {
            pt.deactivate_feature(*feature);
        }
        pt.add_program(
            "coverage_pool",
            coverage_pool::ID,
            solana_program_test::processor!(pool_entry),
        );
        pt.add_program(
            "example_lender",
            example_lender::ID,
            solana_program_test::processor!(lender_entry),
        );
        pt
    }
}

/// `increase_tx_account_lock_limit` (agave-feature-set): active, a bank lets
/// a transaction lock 128 accounts; mainnet has it inactive, so 64.
pub const INCREASE_TX_ACCOUNT_LOCK_LIMIT: Pubkey = anchor_lang::pubkey!("9LZdXeKGeBV6hRLdxS1rHbHoEUsKqesCC2ZAPTPKJAbK");

/// Features solana-program-test activates (it activates every one) that
/// mainnet does not have, and which change what a transaction may do: the
/// bank runs with them deactivated, so it refuses what mainnet refuses
/// (a transaction locking more than 64 accounts: `TooManyAccountLocks`).
pub const INACTIVE_ON_MAINNET: &[Pubkey] = &[INCREASE_TX_ACCOUNT_LOCK_LIMIT];

/// Where the bank runs the programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// The native entrypoints (`processor!`): no SBF toolchain needed; the
    /// programs' own compute units are not metered.
    Native,
    /// The ELF files `coverage_pool.so` and `example_lender.so` in this
    /// directory (from `anchor build`), run by the SBF virtual machine.
    Sbf(std::path::PathBuf),
}

/// The environment variable that switches the bank to the SBF VM: `1` (or
/// `true`) for the workspace's `target/deploy`, or a directory holding
/// `coverage_pool.so` and `example_lender.so`.
pub const SBF_SWITCH: &str = "COVERAGE_SBF";

/// The workspace's `target/deploy` (where `anchor build` writes the programs).
pub fn default_deploy_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/deploy")
}

/// Decides where the programs run from the switch's value and the default
/// directory: native unless asked; asked but an ELF is missing, native with
/// the reason (returned as the second value, to be said once).
pub fn choose_runtime(switch: Option<&str>, default_dir: &std::path::Path) -> (Runtime, Option<String>) {
    let dir = match switch.map(str::trim) {
        None | Some("") | Some("0") | Some("false") => return (Runtime::Native, None),
        Some("1") | Some("true") => default_dir.to_path_buf(),
        Some(other) => std::path::PathBuf::from(other),
    };
    let missing: Vec<String> = ["coverage_pool.so", "example_lender.so"]
        .iter()
        .filter(|f| !dir.join(f).is_file())
        .map(|f| dir.join(f).display().to_string())
        .collect();
    if missing.is_empty() {
        (Runtime::Sbf(dir), None)
    } else {
        let note = format!(
            "{SBF_SWITCH} is set but {} {} missing (run `anchor build`): running the native entrypoints instead",
            missing.join(" and "),
            if missing.len() == 1 { "is" } else { "are" }
        );
        (Runtime::Native, Some(note))
    }
}

/// The runtime this process uses (decided once, from [`SBF_SWITCH`]); a
/// fallback to native is said once on stderr.
pub fn runtime() -> &'static Runtime {
    static CHOICE: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();
    CHOICE.get_or_init(|| {
        let switch = std::env::var(SBF_SWITCH).ok();
        let (runtime, note) = choose_runtime(switch.as_deref(), &default_deploy_dir());
        if let Some(note) = note {
            eprintln!("{note}");
        }
        runtime
    })
}

/// Whether the bank runs the programs' ELF files on the SBF VM.
pub fn runs_on_sbf() -> bool {
    matches!(runtime(), Runtime::Sbf(_))
}

/// A solana-program-test bank with both programs loaded: natively, or on the
/// SBF VM from their ELF files when [`SBF_SWITCH`] asks and they exist.
///
/// Quiet by default: the bank's logs at `error` unless `RUST_LOG` (or a
/// logger installed earlier, see [`quiet_logs`]) says otherwise.
pub fn program_test() -> solana_program_test::ProgramTest {
    quiet_logs("error");
    program_test_on(runtime())
}

/// A bank with both programs loaded on `runtime` (what [`program_test`]
/// builds for the runtime this process chose).
pub fn program_test_on(runtime: &Runtime) -> solana_program_test::ProgramTest {
    match runtime {
        Runtime::Native => native::program_test(),
        Runtime::Sbf(dir) => {
            let mut pt = solana_program_test::ProgramTest::default();
            pt.prefer_bpf(true);
            add_elf(&mut pt, dir, "coverage_pool", coverage_pool::ID);
            add_elf(&mut pt, dir, "example_lender", example_lender::ID);
            pt
        }
    }
}

/// Deploys `<name>.so` from `dir` at `id`, as `ProgramTest::add_program` does
/// with a file it finds (an executable account of the BPF loader holding the
/// ELF). Done here because `add_program` finds files only through the
/// `SBF_OUT_DIR` variable, and setting a variable in a process whose other
/// threads may read the environment is unsound (`std::env::set_var`).
fn add_elf(pt: &mut solana_program_test::ProgramTest, dir: &std::path::Path, name: &str, id: Pubkey) {
    let path = dir.join(format!("{name}.so"));
    // `runtime()` chose SBF only because both files exist
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    pt.add_account(
        id,
        Account {
            lamports: anchor_lang::prelude::Rent::default().minimum_balance(data.len()).max(1),
            data,
            owner: solana_sdk_ids::bpf_loader::id(),
            executable: true,
            rent_epoch: 0,
        },
    );
}

/// Installs the process's logger with `filter` (unless `RUST_LOG` says
/// otherwise) before solana-program-test installs its own, which would turn
/// the runtime's DEBUG line for every instruction on (on stderr, which the
/// test harness does not capture). The first logger installed stays: a later
/// call, or solana-program-test's, changes nothing.
pub fn quiet_logs(filter: &str) {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(filter))
        .format_timestamp_nanos()
        .try_init();
}

/// Natively the programs' `msg!` lines are printed to the process's stdout
/// (they are not transaction logs there): while a bank runs they must not
/// mix with a command's output. Moves file descriptor 1 away — to stderr when
/// `to_stderr`, else to /dev/null — and returns a writer to the real stdout.
pub fn redirect_program_logs(to_stderr: bool) -> std::io::Result<std::fs::File> {
    use std::io::Write;
    use std::os::fd::{AsRawFd, FromRawFd};
    std::io::stdout().flush()?;
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    let target = if to_stderr { 2 } else { null.as_raw_fd() };
    // SAFETY: plain descriptor duplication; the returned File owns the new descriptor.
    unsafe {
        let real = libc::dup(1);
        if real < 0 || libc::dup2(target, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(std::fs::File::from_raw_fd(real))
    }
}

/// The SPL Memo program (loaded by solana-program-test).
pub const MEMO_PROGRAM: Pubkey = anchor_lang::pubkey!("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

/// `ixs` after a compute-unit limit carrying `nonce` (1.3M–1.4M units) and
/// a zero priority fee: the same instructions twice on one blockhash are two
/// transactions (a cluster would call the second already processed). What
/// the bank transport and `cover localnet`'s own transactions (airdrops, the
/// faucet, its set-up) send.
pub fn with_unique_budget(nonce: u64, ixs: &[Instruction]) -> Vec<Instruction> {
    let limit = crate::transport::MAX_COMPUTE_UNITS - (nonce % 100_000) as u32;
    crate::transport::with_budget(limit, 0, ixs)
}

/// The bank as a [`Transport`].
pub struct BankTransport {
    /// The running bank.
    pub ctx: ProgramTestContext,
    nonce: u64,
    /// Transactions processed (simulations excluded).
    pub sent: u64,
    /// Lookup tables created through this transport.
    tables: Vec<Pubkey>,
    /// Every account a transaction sent through this transport named (the
    /// bank cannot list accounts by owner: [`Transport::token_accounts`]
    /// looks here, as `cover localnet` keeps an index).
    seen: std::collections::BTreeSet<Pubkey>,
}

impl BankTransport {
    /// Starts a bank with the clock at `unix`.
    pub async fn start(unix: i64) -> Result<Self> {
        let ctx = program_test().start_with_context().await;
        let mut bank = Self {
            ctx,
            nonce: 0,
            sent: 0,
            tables: Vec::new(),
            seen: Default::default(),
        };
        bank.set_time(unix).await?;
        Ok(bank)
    }

    /// Sets the bank clock's unix time.
    pub async fn set_time(&mut self, unix: i64) -> Result<()> {
        let mut clock: anchor_lang::prelude::Clock = self.ctx.banks_client.get_sysvar().await?;
        clock.unix_timestamp = unix;
        self.ctx.set_sysvar(&clock);
        Ok(())
    }

    /// Writes a `PriceUpdateV2` account owned by the Pyth receiver at
    /// `address` (as Pyth's push oracle does for its sponsored feeds).
    pub fn install_price(&mut self, address: &Pubkey, update: &PriceUpdate) {
        self.ctx.set_account(address, &update.account(10_000_000).into());
    }

    /// The bank payer's keypair.
    pub fn payer_keypair(&self) -> Keypair {
        self.ctx.payer.insecure_clone()
    }
}

impl BankTransport {
    /// Creates a mint of the classic SPL Token program with `decimals`;
    /// returns it and its mint authority.
    pub async fn create_mint(&mut self, decimals: u8) -> Result<(Pubkey, Keypair)> {
        crate::setup::create_mint(self, decimals).await
    }

    /// The associated token account of `owner` for `mint` (classic SPL Token), created if missing.
    pub async fn token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Result<Pubkey> {
        crate::setup::token_account(self, mint, owner).await
    }

    /// Mints `amount` of `mint` to `to`.
    pub async fn mint_to(&mut self, mint: &Pubkey, authority: &Keypair, to: &Pubkey, amount: u64) -> Result<()> {
        crate::setup::mint_to(self, mint, authority, to, amount)
            .await
            .map(|_| ())
    }

    /// Sends lamports from the payer.
    pub async fn airdrop(&mut self, to: &Pubkey, lamports: u64) -> Result<()> {
        let ix = solana_system_interface::instruction::transfer(&self.payer(), to, lamports);
        self.send(&[ix], &[], SendMode::Send).await?;
        Ok(())
    }

    /// Token balance of a token account.
    pub async fn token_balance(&mut self, account: &Pubkey) -> Result<u64> {
        use anchor_lang::solana_program::program_pack::Pack;
        use anchor_spl::token_2022::spl_token_2022;
        let acc = self
            .account(account)
            .await?
            .ok_or_else(|| anyhow!("no token account {account}"))?;
        Ok(spl_token_2022::state::Account::unpack_from_slice(&acc.data[..spl_token_2022::state::Account::LEN])?.amount)
    }

    /// Supply of a mint.
    pub async fn mint_supply(&mut self, mint: &Pubkey) -> Result<u64> {
        use anchor_lang::solana_program::program_pack::Pack;
        use anchor_spl::token_2022::spl_token_2022;
        let acc = self.account(mint).await?.ok_or_else(|| anyhow!("no mint {mint}"))?;
        Ok(spl_token_2022::state::Mint::unpack_from_slice(&acc.data[..spl_token_2022::state::Mint::LEN])?.supply)
    }

    /// Deploys a [`crate::config::Deployment`] on the bank with a fresh
    /// 6-decimal collateral mint; the bank payer is creator and authority.
    /// Returns the pool keys, the mint authority and the treasury.
    pub async fn deploy(&mut self, d: &crate::config::Deployment) -> Result<(crate::ix::PoolKeys, Keypair, Pubkey)> {
        crate::setup::deploy(self, d).await
    }
}

impl BankTransport {
    /// The transaction for `ixs` as the RPC transport sends it: after a
    /// compute-unit limit and a priority fee (so both transports send the
    /// same sizes, and on the SBF VM an instruction may use more than the
    /// default 200 000 units), the limit made unique by [`with_unique_budget`].
    fn build(
        &self,
        nonce: u64,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
        blockhash: solana_hash::Hash,
    ) -> Result<VersionedTransaction> {
        crate::tx::build(
            &self.ctx.payer,
            &with_unique_budget(nonce, ixs),
            signers,
            tables,
            blockhash,
        )
    }

    /// Sends `ixs` (through `tables` when given) and returns the compute
    /// units the transaction consumed, from the bank's transaction metadata.
    /// Natively the programs' own instructions are not metered (only the
    /// ELF programs they call are): meaningful on the SBF VM ([`runs_on_sbf`]).
    pub async fn send_metered(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<u64> {
        let tx = self.next_transaction(ixs, signers, tables).await?;
        // the bank's metered path, which executes without verifying
        // signatures (the transaction was signed here)
        let out = self.ctx.banks_client.process_transaction_with_metadata(tx).await?;
        out.result
            .map_err(|e| crate::transport::Rejected::explained(&format!("{e:?}")))?;
        self.track(ixs);
        Ok(out.metadata.map(|m| m.compute_units_consumed).unwrap_or(0))
    }

    /// The next transaction to send: a new nonce, the latest blockhash, and
    /// refused as a cluster would refuse it (the bank takes any size).
    async fn next_transaction(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<VersionedTransaction> {
        self.nonce += 1;
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await?;
        let tx = self.build(self.nonce, ixs, signers, tables, blockhash)?;
        crate::tx::check(&tx)?;
        Ok(tx)
    }

    /// Counts a processed transaction and remembers the accounts it named
    /// and the lookup tables it created.
    fn track(&mut self, ixs: &[Instruction]) {
        self.sent += 1;
        for ix in ixs {
            self.seen.insert(ix.program_id);
            self.seen.extend(ix.accounts.iter().map(|m| m.pubkey));
        }
        self.track_new_tables(ixs);
    }

    /// Remembers the lookup tables `ixs` created.
    fn track_new_tables(&mut self, ixs: &[Instruction]) {
        use crate::tx::lookup_table;
        for ix in ixs {
            let creates = ix.program_id == lookup_table::program::id()
                && matches!(
                    bincode::deserialize::<lookup_table::instruction::ProgramInstruction>(&ix.data),
                    Ok(lookup_table::instruction::ProgramInstruction::CreateLookupTable { .. })
                );
            if creates {
                self.tables.push(ix.accounts[0].pubkey);
            }
        }
    }
}

/// A refusal by the bank as [`crate::transport::Rejected`]; a failure to
/// reach it (its channel, an I/O error) as a plain error.
fn bank_error(e: solana_program_test::BanksClientError) -> anyhow::Error {
    use solana_program_test::BanksClientError as E;
    match e {
        E::TransactionError(_) | E::SimulationError { .. } => crate::transport::Rejected::explained(&format!("{e:?}")),
        other => anyhow!("the bank did not answer: {other}"),
    }
}

impl Transport for BankTransport {
    fn payer(&self) -> Pubkey {
        self.ctx.payer.pubkey()
    }

    async fn account(&mut self, address: &Pubkey) -> Result<Option<Account>> {
        Ok(self.ctx.banks_client.get_account(*address).await?)
    }

    async fn send_with_tables(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
        mode: SendMode,
    ) -> Result<String> {
        let tx = self.next_transaction(ixs, signers, tables).await?;
        let sig = tx.signatures[0].to_string();
        match mode {
            SendMode::Simulate => {
                let sim = self.ctx.banks_client.simulate_transaction(tx).await?;
                match sim.result {
                    Some(Err(e)) => Err(crate::transport::Rejected::explained(&format!("{e:?}"))),
                    _ => Ok("simulated".to_string()),
                }
            }
            SendMode::Send => {
                self.ctx
                    .banks_client
                    .process_transaction(tx)
                    .await
                    .map_err(bank_error)?;
                self.track(ixs);
                Ok(sig)
            }
        }
    }

    fn transaction(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<VersionedTransaction> {
        // the next send's nonce: the exact size it will send
        self.build(self.nonce + 1, ixs, signers, tables, Default::default())
    }

    async fn recent_slot(&mut self) -> Result<u64> {
        // SlotHashes holds the slots before the current one
        let slot = self.slot().await?;
        if slot == 0 {
            self.wait_past_slot(0).await?;
            return Ok(0);
        }
        Ok(slot - 1)
    }

    async fn slot(&mut self) -> Result<u64> {
        let clock: anchor_lang::prelude::Clock = self.ctx.banks_client.get_sysvar().await?;
        Ok(clock.slot)
    }

    async fn wait_past_slot(&mut self, slot: u64) -> Result<()> {
        let current = self.slot().await?;
        if current <= slot {
            // a new bank for the next slot; the clock keeps the time the caller set
            let now = self.now().await?;
            let target = slot + 1;
            self.ctx
                .warp_to_slot(target)
                .map_err(|e| anyhow!("warping to slot {target}: {e:?}"))?;
            self.set_time(now).await?;
            if target > current + 1 {
                // a cluster that got here saw every slot in between: SlotHashes
                // holds the 512 before this one (a warp adds only its parent),
                // which is what lookup tables' cooldowns read
                use solana_slot_hashes::{SlotHashes, MAX_ENTRIES};
                let hash = self.ctx.banks_client.get_latest_blockhash().await?;
                let entries: Vec<(u64, solana_hash::Hash)> = (1..=MAX_ENTRIES as u64)
                    .filter(|back| *back <= target)
                    .map(|back| (target - back, hash))
                    .collect();
                self.ctx.set_sysvar(&SlotHashes::new(&entries));
            }
        }
        Ok(())
    }

    async fn lookup_tables(&mut self, authority: &Pubkey) -> Result<Vec<(AddressLookupTableAccount, LookupTableMeta)>> {
        // the bank cannot list accounts by owner: the tables this transport created
        let mut out = Vec::new();
        for address in self.tables.clone() {
            if let Some(acc) = self.account(&address).await? {
                let (table, meta) = crate::tx::decode_table(address, &acc.data)?;
                if meta.authority == Some(*authority) {
                    out.push((table, meta));
                }
            }
        }
        Ok(out)
    }

    async fn now(&mut self) -> Result<i64> {
        let clock: anchor_lang::prelude::Clock = self.ctx.banks_client.get_sysvar().await?;
        Ok(clock.unix_timestamp)
    }

    async fn token_accounts(&mut self, owner: &Pubkey, mint: &Pubkey) -> Result<Vec<(Pubkey, Account)>> {
        use anchor_spl::token_2022::spl_token_2022::{extension::StateWithExtensions, state::Account as TokenAccount};
        let token_programs = [anchor_spl::token::ID, anchor_spl::token_2022::ID];
        let mut out = Vec::new();
        for address in self.seen.clone() {
            let Some(acc) = self.account(&address).await? else {
                continue;
            };
            if !token_programs.contains(&acc.owner) {
                continue;
            }
            if let Ok(state) = StateWithExtensions::<TokenAccount>::unpack(&acc.data) {
                if state.base.owner == *owner && state.base.mint == *mint {
                    out.push((address, acc));
                }
            }
        }
        Ok(out)
    }
}
