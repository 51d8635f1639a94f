//! The in-process bank transport: solana-program-test's bank with the real
//! coverage_pool program (run natively) and the example integrator loaded,
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
        let mut pt = solana_program_test::ProgramTest::new(
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

/// A solana-program-test bank with both programs loaded.
pub fn program_test() -> solana_program_test::ProgramTest {
    native::program_test()
}

/// The SPL Memo program (loaded by solana-program-test).
pub const MEMO_PROGRAM: Pubkey = anchor_lang::pubkey!("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

/// The bank as a [`Transport`].
pub struct BankTransport {
    /// The running bank.
    pub ctx: ProgramTestContext,
    nonce: u64,
    /// Transactions processed (simulations excluded).
    pub sent: u64,
}

impl BankTransport {
    /// Starts a bank with the clock at `unix`.
    pub async fn start(unix: i64) -> Result<Self> {
        let ctx = program_test().start_with_context().await;
        let mut bank = Self { ctx, nonce: 0, sent: 0 };
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
        let account = Account {
            lamports: 10_000_000,
            data: update.data(),
            owner: pyth_solana_receiver_sdk::ID,
            executable: false,
            rent_epoch: 0,
        };
        self.ctx.set_account(address, &account.into());
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

impl Transport for BankTransport {
    fn payer(&self) -> Pubkey {
        self.ctx.payer.pubkey()
    }

    async fn account(&mut self, address: &Pubkey) -> Result<Option<Account>> {
        Ok(self.ctx.banks_client.get_account(*address).await?)
    }

    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair], mode: SendMode) -> Result<String> {
        // a memo with a counter makes every transaction unique on one blockhash
        self.nonce += 1;
        let mut all = ixs.to_vec();
        all.push(Instruction {
            program_id: MEMO_PROGRAM,
            accounts: vec![],
            data: self.nonce.to_string().into_bytes(),
        });
        let payer = self.ctx.payer.insecure_clone();
        let mut keys: Vec<&Keypair> = vec![&payer];
        keys.extend_from_slice(signers);
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await?;
        let tx = solana_transaction::Transaction::new_signed_with_payer(&all, Some(&payer.pubkey()), &keys, blockhash);
        let sig = tx.signatures[0].to_string();
        match mode {
            SendMode::Simulate => {
                let sim = self.ctx.banks_client.simulate_transaction(tx).await?;
                match sim.result {
                    Some(Err(e)) => Err(anyhow!(crate::errors::explain(&format!("{e:?}")))),
                    _ => Ok("simulated".to_string()),
                }
            }
            SendMode::Send => {
                self.ctx
                    .banks_client
                    .process_transaction(tx)
                    .await
                    .map_err(|e| anyhow!(crate::errors::explain(&format!("{e:?}"))))?;
                self.sent += 1;
                Ok(sig)
            }
        }
    }

    async fn now(&mut self) -> Result<i64> {
        let clock: anchor_lang::prelude::Clock = self.ctx.banks_client.get_sysvar().await?;
        Ok(clock.unix_timestamp)
    }
}
