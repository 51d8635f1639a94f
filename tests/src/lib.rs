//! `TestEnv`: the real `coverage_pool` program inside solana-program-test's
//! bank, run natively (no SBF toolchain on the build machines), with the real
//! SPL Token programs, real CPIs, and a clock the tests can warp.
//!
//! A pool with tranches and funded stakers takes a few lines:
//! ```ignore
//! let mut env = TestEnv::new().await;            // 2 tranches, USDC-like mint
//! let alice = env.new_staker(1_000_000_000).await;
//! env.deposit(&alice, 0, 500_000_000, 0).await.unwrap();
//! env.warp_by(7 * DAY).await;
//! ```

pub mod oracle;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::spl_token;
use anchor_spl::token_2022::spl_token_2022;
use coverage_pool::error::ErrorCode;
use coverage_pool::instructions::{CreateMarketArgs, InitializePoolArgs};
use coverage_pool::state::{
    CoverBook, Market, PayoutShape, Policy, Pool, PremiumLedger, PricingCurve, WithdrawalRequest,
};
use coverage_sdk::ix::{self, PoolKeys};
use coverage_sdk::pda;
use solana_keypair::Keypair;
use solana_program_test::{BanksClientError, ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;

pub use solana_keypair;
pub use solana_program_test;
pub use solana_signer;

/// Seconds in a day.
pub const DAY: i64 = 86_400;
/// The bank's clock at start: 2023-02-01 00:00 UTC.
pub const GENESIS: i64 = 1_675_209_600;
/// Collateral decimals used by the default environment (USDC's).
pub const DECIMALS: u8 = 6;
/// One whole collateral token in base units.
pub const ONE: u64 = 1_000_000;

/// Parameters of the test pool.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Premium weights, junior first.
    pub weights: Vec<u16>,
    /// Staker cooldown, seconds.
    pub cooldown: u32,
    /// Withdraw window, seconds.
    pub withdraw_window: u32,
    /// Max leverage, bps.
    pub max_leverage_bps: u32,
    /// Protocol fee, bps.
    pub protocol_fee_bps: u16,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            weights: vec![7_000, 3_000],
            cooldown: 7 * DAY as u32,
            withdraw_window: 2 * DAY as u32,
            max_leverage_bps: 20_000,
            protocol_fee_bps: 1_000,
        }
    }
}

impl PoolConfig {
    /// The `initialize_pool` arguments for this config.
    pub fn args(&self, pool_id: u64, authority: Pubkey) -> InitializePoolArgs {
        InitializePoolArgs {
            pool_id,
            authority,
            tranche_weights_bps: self.weights.clone(),
            cooldown: self.cooldown,
            withdraw_window: self.withdraw_window,
            max_leverage_bps: self.max_leverage_bps,
            protocol_fee_bps: self.protocol_fee_bps,
        }
    }
}

/// A funded staker: a keypair, a collateral account, a share account per tranche.
pub struct Staker {
    /// The staker's wallet.
    pub kp: Keypair,
    /// Collateral token account.
    pub collateral: Pubkey,
    /// Share token account per tranche.
    pub shares: Vec<Pubkey>,
}

impl Staker {
    /// The staker's address.
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}

/// The bank with a pool in it.
pub struct TestEnv {
    /// The running bank.
    pub ctx: ProgramTestContext,
    /// Pool authority.
    pub authority: Keypair,
    /// Collateral mint authority.
    pub mint_authority: Keypair,
    /// The pool's fixed addresses.
    pub keys: PoolKeys,
    /// Treasury token account.
    pub treasury: Pubkey,
    /// Number of tranches.
    pub tranche_count: u8,
}

/// The `n`-th keypair of `seed`: the same on every run, for stories whose
/// account bytes must not change between runs (any 32 bytes are an ed25519 secret).
pub fn seeded_keypair(seed: u64, n: u64) -> Keypair {
    let mut secret = [0x5e_u8; 32];
    secret[..8].copy_from_slice(&seed.to_le_bytes());
    secret[8..16].copy_from_slice(&n.to_le_bytes());
    Keypair::new_from_array(secret)
}

/// The default pool with capital: 60 000 in the junior tranche (alice), 40 000
/// in the senior (bob), max leverage 2x.
pub async fn small_pool() -> (TestEnv, Staker, Staker) {
    let mut env = TestEnv::new().await;
    let alice = env.new_staker(60_000 * ONE).await;
    let bob = env.new_staker(40_000 * ONE).await;
    env.deposit(&alice, 0, 60_000 * ONE, 0).await.unwrap();
    env.deposit(&bob, 1, 40_000 * ONE, 0).await.unwrap();
    (env, alice, bob)
}

/// Starts a bank with the program loaded, the clock at a realistic date.
pub async fn start_bank() -> ProgramTestContext {
    // both programs natively (coverage_pool and the example integrator), as the SDK's bank transport does
    let pt: ProgramTest = coverage_sdk::bank::program_test();
    let mut ctx = pt.start_with_context().await;
    // 2023-02-01 00:00 UTC: a new market opens after the governance delay
    // (10 days with the default pool), well before the replays of March 2023
    set_time(&mut ctx, GENESIS).await;
    ctx
}

/// Sets the bank clock's unix time.
pub async fn set_time(ctx: &mut ProgramTestContext, unix: i64) {
    let mut clock: anchor_lang::prelude::Clock = ctx.banks_client.get_sysvar().await.unwrap();
    clock.unix_timestamp = unix;
    ctx.set_sysvar(&clock);
}

impl TestEnv {
    /// A pool with the default config (2 tranches 70/30, 7-day cooldown, 2-day window).
    pub async fn new() -> Self {
        Self::with_config(PoolConfig::default()).await
    }

    /// A pool with `cfg`, every tranche initialized, on a classic SPL Token mint.
    pub async fn with_config(cfg: PoolConfig) -> Self {
        let mut env = Self::without_pool(spl_token::ID).await;
        let args = cfg.args(1, env.authority.pubkey());
        env.initialize_pool(args).await.unwrap();
        env
    }

    /// A pool with `cfg` whose every key derives from `seed` (see
    /// [`seeded_keypair`]), the pool's creator included: the same story writes
    /// the same account bytes on every run (the TypeScript client's golden vectors).
    pub async fn seeded(cfg: PoolConfig, seed: u64) -> Self {
        let keys = [1, 2, 3, 4].map(|n| seeded_keypair(seed, n));
        let mut env = Self::without_pool_from(spl_token::ID, keys).await;
        // the bank's payer is random and creates the pool: a seeded payer, funded by it, takes its place
        let creator = seeded_keypair(seed, 0);
        env.airdrop(&creator.pubkey(), 1_000_000_000_000).await;
        env.ctx.payer = creator;
        let args = cfg.args(1, env.authority.pubkey());
        env.initialize_pool(args).await.unwrap();
        env
    }

    /// A bank with a collateral mint of `token_program` and a treasury, no pool yet.
    pub async fn without_pool(token_program: Pubkey) -> Self {
        Self::without_pool_from(token_program, [(); 4].map(|_| Keypair::new())).await
    }

    /// [`TestEnv::without_pool`] with the given keys: authority, mint authority, mint, treasury account.
    pub async fn without_pool_from(token_program: Pubkey, keys: [Keypair; 4]) -> Self {
        let mut ctx = start_bank().await;
        let [authority, mint_authority, mint, treasury] = keys;
        create_mint(&mut ctx, &mint, &mint_authority.pubkey(), &token_program, DECIMALS).await;
        let treasury =
            create_token_account_at(&mut ctx, &treasury, &mint.pubkey(), &authority.pubkey(), &token_program).await;
        let pool = pda::pool(&ctx.payer.pubkey(), 1).0;
        Self {
            ctx,
            authority,
            mint_authority,
            keys: PoolKeys {
                pool,
                collateral_mint: mint.pubkey(),
                token_program,
            },
            treasury,
            tranche_count: 0,
        }
    }

    /// Replaces the collateral mint (and the treasury) with a new Token-2022
    /// mint carrying `extensions`, initialized by `init(mint)`; returns the mint.
    pub async fn use_collateral_mint_with_extensions(
        &mut self,
        extensions: &[spl_token_2022::extension::ExtensionType],
        init: impl FnOnce(&Pubkey) -> Vec<Instruction>,
    ) -> Pubkey {
        let mint = Keypair::new();
        let authority = self.authority.pubkey();
        let init = init(&mint.pubkey());
        create_mint_with_extensions(
            &mut self.ctx,
            &mint,
            &authority,
            &spl_token_2022::ID,
            DECIMALS,
            extensions,
            init,
        )
        .await;
        self.keys.collateral_mint = mint.pubkey();
        self.treasury = create_token_account(&mut self.ctx, &mint.pubkey(), &authority, &spl_token_2022::ID).await;
        mint.pubkey()
    }

    /// Sends `initialize_pool` (creator: the bank payer) and every `initialize_tranche`, in one transaction.
    pub async fn initialize_pool(&mut self, args: InitializePoolArgs) -> Result<(), BanksClientError> {
        let creator = self.ctx.payer.pubkey();
        let count = args.tranche_weights_bps.len() as u8;
        self.keys.pool = pda::pool(&creator, args.pool_id).0;
        let mut ixs = vec![ix::initialize_pool(
            &creator,
            &self.keys.collateral_mint,
            &self.treasury,
            &self.keys.token_program,
            args,
        )];
        for t in 0..count.min(4) {
            ixs.push(ix::initialize_tranche(&creator, &self.keys, t));
        }
        self.send(&ixs, &[]).await?;
        self.tranche_count = count;
        Ok(())
    }

    /// Signs with the bank payer plus `signers` and processes `ixs`.
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), BanksClientError> {
        send_tx(&mut self.ctx, ixs, signers).await
    }

    /// A new wallet with `collateral` base units and an empty share account per tranche.
    pub async fn new_staker(&mut self, collateral: u64) -> Staker {
        let accounts = (0..=self.tranche_count).map(|_| Keypair::new()).collect();
        self.new_staker_from(collateral, Keypair::new(), accounts).await
    }

    /// [`TestEnv::new_staker`] with keys derived from `(seed, n)`: the same on every run.
    pub async fn new_staker_seeded(&mut self, collateral: u64, seed: u64, n: u64) -> Staker {
        let base = 1_000 * (n + 1);
        let accounts = (1..=u64::from(self.tranche_count) + 1)
            .map(|i| seeded_keypair(seed, base + i))
            .collect();
        self.new_staker_from(collateral, seeded_keypair(seed, base), accounts)
            .await
    }

    /// A staker with wallet `kp`; `accounts` are the keys of its collateral
    /// account then one share account per tranche.
    async fn new_staker_from(&mut self, collateral: u64, kp: Keypair, accounts: Vec<Keypair>) -> Staker {
        self.airdrop(&kp.pubkey(), 1_000_000_000).await;
        let (mint, tp) = (self.keys.collateral_mint, self.keys.token_program);
        let collateral_account = create_token_account_at(&mut self.ctx, &accounts[0], &mint, &kp.pubkey(), &tp).await;
        if collateral > 0 {
            self.mint_collateral(&collateral_account, collateral).await;
        }
        let mut shares = Vec::new();
        for t in 0..self.tranche_count {
            let mint = self.keys.share_mint(t);
            let account = &accounts[1 + usize::from(t)];
            shares.push(create_token_account_at(&mut self.ctx, account, &mint, &kp.pubkey(), &tp).await);
        }
        Staker {
            kp,
            collateral: collateral_account,
            shares,
        }
    }

    /// `from` sends `amount` collateral straight into the pool's vault (a
    /// donation, bypassing `deposit`: the inflation attack's move).
    pub async fn donate_to_vault(&mut self, from: &Staker, amount: u64) {
        let ix = spl_token_2022::instruction::transfer_checked(
            &self.keys.token_program,
            &from.collateral,
            &self.keys.collateral_mint,
            &self.keys.vault(),
            &from.key(),
            &[],
            amount,
            DECIMALS,
        )
        .unwrap();
        self.send(&[ix], &[&from.kp]).await.unwrap();
    }

    /// A new empty collateral token account owned by `owner`.
    pub async fn new_collateral_account(&mut self, owner: &Pubkey) -> Pubkey {
        let mint = self.keys.collateral_mint;
        let tp = self.keys.token_program;
        create_token_account(&mut self.ctx, &mint, owner, &tp).await
    }

    /// Mints `amount` collateral to `to`.
    pub async fn mint_collateral(&mut self, to: &Pubkey, amount: u64) {
        let ix = spl_token_2022::instruction::mint_to(
            &self.keys.token_program,
            &self.keys.collateral_mint,
            to,
            &self.mint_authority.pubkey(),
            &[],
            amount,
        )
        .unwrap();
        let ma = self.mint_authority.insecure_clone();
        self.send(&[ix], &[&ma]).await.unwrap();
    }

    /// Transfers lamports from the bank payer.
    pub async fn airdrop(&mut self, to: &Pubkey, lamports: u64) {
        let ix = solana_system_interface::instruction::transfer(&self.ctx.payer.pubkey(), to, lamports);
        self.send(&[ix], &[]).await.unwrap();
    }

    /// `deposit` by `staker` into `tranche`.
    pub async fn deposit(
        &mut self,
        staker: &Staker,
        tranche: u8,
        amount: u64,
        min_shares: u64,
    ) -> Result<(), BanksClientError> {
        let shares = staker.shares.get(tranche as usize).copied().unwrap_or(staker.shares[0]);
        let ix = ix::deposit(
            &staker.key(),
            &self.keys,
            tranche,
            &staker.collateral,
            &shares,
            amount,
            min_shares,
        );
        self.send(&[ix], &[&staker.kp]).await
    }

    /// `request_withdrawal` by `staker` of `shares` in `tranche`.
    pub async fn request_withdrawal(
        &mut self,
        staker: &Staker,
        tranche: u8,
        shares: u64,
    ) -> Result<(), BanksClientError> {
        let ix = ix::request_withdrawal(
            &staker.key(),
            &self.keys,
            tranche,
            &staker.shares[tranche as usize],
            shares,
        );
        self.send(&[ix], &[&staker.kp]).await
    }

    /// `cancel_withdrawal` by `staker` of its own request in `tranche`.
    pub async fn cancel_withdrawal(&mut self, staker: &Staker, tranche: u8) -> Result<(), BanksClientError> {
        let request = self.request_address(staker, tranche);
        let ix = ix::cancel_withdrawal(
            &staker.key(),
            &self.keys,
            tranche,
            &request,
            &staker.shares[tranche as usize],
        );
        self.send(&[ix], &[&staker.kp]).await
    }

    /// `withdraw` by `staker` of its own request in `tranche`, with a fresh
    /// healthy price of every market's feed.
    pub async fn withdraw(&mut self, staker: &Staker, tranche: u8) -> Result<(), BanksClientError> {
        let prices = self.healthy_prices().await;
        self.withdraw_with_prices(staker, tranche, &prices).await
    }

    /// `withdraw` by `staker` with `prices[i]` as market `i`'s price update.
    pub async fn withdraw_with_prices(
        &mut self,
        staker: &Staker,
        tranche: u8,
        prices: &[Pubkey],
    ) -> Result<(), BanksClientError> {
        let request = self.request_address(staker, tranche);
        let ix = ix::withdraw(&staker.key(), &self.keys, tranche, &request, &staker.collateral, prices);
        self.send(&[ix], &[&staker.kp]).await
    }

    /// A fresh healthy price update ($1.00 ± 0.0001, published now) of each
    /// market's feed, in market order: what `withdraw` reads.
    pub async fn healthy_prices(&mut self) -> Vec<Pubkey> {
        let count = self.pool().await.market_count;
        let now = self.now().await;
        let mut out = Vec::new();
        for i in 0..count {
            let m = self.market(&pda::market(&self.keys.pool, i).0).await;
            let address = Pubkey::new_unique();
            let spec = oracle::PriceSpec::new(m.feed_id, 100_000_000, 10_000, now);
            oracle::install(&mut self.ctx, &address, &spec);
            out.push(address);
        }
        out
    }

    /// Address of `staker`'s withdrawal request in `tranche`.
    pub fn request_address(&self, staker: &Staker, tranche: u8) -> Pubkey {
        pda::withdrawal_request(&self.keys.pool, tranche, &staker.key()).0
    }

    /// Token balance of a token account.
    pub async fn balance(&mut self, account: &Pubkey) -> u64 {
        let acc = self
            .ctx
            .banks_client
            .get_account(*account)
            .await
            .unwrap()
            .expect("token account");
        spl_token_2022::state::Account::unpack_from_slice(&acc.data[..spl_token_2022::state::Account::LEN])
            .unwrap()
            .amount
    }

    /// Supply of a mint.
    pub async fn supply(&mut self, mint: &Pubkey) -> u64 {
        let acc = self.ctx.banks_client.get_account(*mint).await.unwrap().expect("mint");
        spl_token_2022::state::Mint::unpack_from_slice(&acc.data[..spl_token_2022::state::Mint::LEN])
            .unwrap()
            .supply
    }

    /// Decodes one of the program's accounts.
    pub async fn fetch<T: AccountDeserialize>(&mut self, address: &Pubkey) -> Option<T> {
        let acc = self.ctx.banks_client.get_account(*address).await.unwrap()?;
        Some(T::try_deserialize(&mut &acc.data[..]).unwrap())
    }

    /// The pool account.
    pub async fn pool(&mut self) -> Pool {
        let p = self.keys.pool;
        self.fetch::<Pool>(&p).await.expect("pool")
    }

    /// A market account.
    pub async fn market(&mut self, address: &Pubkey) -> Market {
        self.fetch::<Market>(address).await.expect("market")
    }

    /// Queues a change of `market`'s parameters by the authority: its
    /// current curve, allocation and activation delay, changed by `change`.
    pub async fn queue_market_change(
        &mut self,
        market: &Pubkey,
        change: impl FnOnce(&mut coverage_pool::state::MarketParamsChange),
    ) -> Result<(), BanksClientError> {
        let m = self.market(market).await;
        let mut params = coverage_pool::state::MarketParamsChange {
            curve: m.curve,
            allocation_bps: m.allocation_bps,
            activation_delay: m.activation_delay,
        };
        change(&mut params);
        let auth = self.authority.insecure_clone();
        self.send(
            &[ix::queue_market_params(&auth.pubkey(), &self.keys.pool, market, params)],
            &[&auth],
        )
        .await
    }

    /// A withdrawal request, if open.
    pub async fn request(&mut self, staker: &Staker, tranche: u8) -> Option<WithdrawalRequest> {
        let a = self.request_address(staker, tranche);
        self.fetch::<WithdrawalRequest>(&a).await
    }

    /// Vault balance.
    pub async fn vault_balance(&mut self) -> u64 {
        let v = self.keys.vault();
        self.balance(&v).await
    }

    /// Current bank unix time.
    pub async fn now(&mut self) -> i64 {
        let clock: anchor_lang::prelude::Clock = self.ctx.banks_client.get_sysvar().await.unwrap();
        clock.unix_timestamp
    }

    /// Moves the clock forward by `secs`.
    pub async fn warp_by(&mut self, secs: i64) {
        let now = self.now().await;
        set_time(&mut self.ctx, now + secs).await;
    }

    /// Sets the clock to `unix`.
    pub async fn warp_to(&mut self, unix: i64) {
        set_time(&mut self.ctx, unix).await;
    }

    /// Everything a rejection must leave unchanged: vault, treasury, pool
    /// account bytes, and the given token accounts.
    pub async fn snapshot(&mut self, accounts: &[Pubkey]) -> Vec<Option<Vec<u8>>> {
        let mut all = vec![self.keys.pool, self.keys.vault(), self.treasury];
        all.extend_from_slice(accounts);
        let mut out = Vec::new();
        for a in all {
            out.push(self.ctx.banks_client.get_account(a).await.unwrap().map(|x| x.data));
        }
        out
    }
}

pub use coverage_sdk::bank::MEMO_PROGRAM;

/// Terms of the default test market: USDC/USD below 0.95 for 1 hour,
/// recovery 0.97, max gap 1 hour, max price age 60 s, max confidence 5 %.
pub fn market_args() -> CreateMarketArgs {
    CreateMarketArgs {
        feed_id: oracle::TEST_FEED,
        strike: 95_000_000,
        recovery: 97_000_000,
        duration: 3_600,
        max_gap: 3_600,
        max_price_age: 60,
        max_conf_bps: 500,
        payout: PayoutShape::Binary,
        curve: PricingCurve {
            base_rate_bps: 200,
            slope_below_kink_bps: 800,
            slope_above_kink_bps: 4_000,
            kink_utilization_bps: 8_000,
        },
        allocation_bps: 10_000,
        activation_delay: 120,
    }
}

impl TestEnv {
    /// `create_market` signed by the pool authority, then the clock moves to
    /// the market's opening (`sales_open_at`, the governance delay later);
    /// returns the market address.
    pub async fn create_market(&mut self, args: CreateMarketArgs) -> Result<Pubkey, BanksClientError> {
        let market = self.create_market_unopened(args).await?;
        let opens = self.market(&market).await.sales_open_at;
        if opens > self.now().await {
            self.warp_to(opens).await;
        }
        Ok(market)
    }

    /// `create_market` signed by the pool authority, the clock left as it is
    /// (the market sells nothing until `sales_open_at`).
    pub async fn create_market_unopened(&mut self, args: CreateMarketArgs) -> Result<Pubkey, BanksClientError> {
        let index = self.pool().await.market_count;
        let auth = self.authority.insecure_clone();
        let payer = self.ctx.payer.pubkey();
        let ix = ix::create_market(&auth.pubkey(), &payer, &self.keys.pool, index, args);
        self.send(&[ix], &[&auth]).await?;
        Ok(pda::market(&self.keys.pool, index).0)
    }

    /// Posts `spec` as a fresh `PriceUpdateV2` account and calls `check_trigger` with it.
    pub async fn observe(&mut self, market: &Pubkey, spec: &oracle::PriceSpec) -> Result<(), BanksClientError> {
        let address = Pubkey::new_unique();
        oracle::install(&mut self.ctx, &address, spec);
        self.check_trigger(market, &address).await
    }

    /// Sets the clock to `publish_time` and observes `price`/`conf` (1e-8 units) then.
    pub async fn observe_at(
        &mut self,
        market: &Pubkey,
        price: i64,
        conf: u64,
        publish_time: i64,
    ) -> Result<(), BanksClientError> {
        self.warp_to(publish_time).await;
        self.observe(market, &oracle::test_price(price, conf, publish_time))
            .await
    }

    /// Drives `market` from healthy to triggered: $1.00, then `lowest` (1e-8
    /// units) observed for an hour (the default market's trigger duration).
    /// Returns the streak start.
    pub async fn trigger(&mut self, market: &Pubkey, lowest: i64) -> i64 {
        let t0 = self.now().await + 1;
        self.observe_at(market, 100_000_000, 0, t0).await.unwrap();
        self.observe_at(market, lowest, 0, t0 + 60).await.unwrap();
        self.observe_at(market, lowest, 0, t0 + 60 + 3_600).await.unwrap();
        assert_eq!(
            self.market(market).await.status,
            coverage_pool::state::MarketStatus::Triggered
        );
        t0 + 60
    }

    /// `check_trigger` with the account at `price_update`.
    pub async fn check_trigger(&mut self, market: &Pubkey, price_update: &Pubkey) -> Result<(), BanksClientError> {
        let ix = ix::check_trigger(market, &self.keys.pool, price_update);
        self.send(&[ix], &[]).await
    }
}

/// The rows of `data/usdc-2023-03-svb.csv` as (publish time, price, conf) in 1e-8 units.
pub fn svb_rows() -> Vec<(i64, i64, u64)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/usdc-2023-03-svb.csv")).unwrap();
    coverage_sdk::pyth::parse_csv(&text)
        .unwrap()
        .into_iter()
        .map(|r| (r.publish_time, r.price, r.conf))
        .collect()
}

impl TestEnv {
    /// A zero-copy account (`PremiumLedger`, `CoverBook`).
    pub async fn fetch_zero_copy<T: bytemuck::Pod + anchor_lang::Discriminator>(&mut self, address: &Pubkey) -> T {
        let acc = self
            .ctx
            .banks_client
            .get_account(*address)
            .await
            .unwrap()
            .expect("account");
        coverage_sdk::quote::decode_zero_copy::<T>(&acc.data).unwrap()
    }

    /// The pool's premium ledger.
    pub async fn ledger(&mut self) -> PremiumLedger {
        let a = self.keys.ledger();
        self.fetch_zero_copy::<PremiumLedger>(&a).await
    }

    /// A market's cover book.
    pub async fn book(&mut self, market: &Pubkey) -> CoverBook {
        let a = pda::book(market).0;
        self.fetch_zero_copy::<CoverBook>(&a).await
    }

    /// A policy, if it exists.
    pub async fn policy(&mut self, address: &Pubkey) -> Option<Policy> {
        self.fetch::<Policy>(address).await
    }

    /// The premium `buy_cover` would charge now (the SDK's quote, the program's code).
    pub async fn quote(&mut self, market: &Pubkey, amount: u64, days: u16) -> Result<u64, anchor_lang::error::Error> {
        let pool = self.pool().await;
        let ledger = self.ledger().await;
        let m = self.market(market).await;
        let book = self.book(market).await;
        let now = self.now().await;
        coverage_sdk::quote::premium(&pool, &ledger, &m, &book, amount, days, now)
    }

    /// Installs a healthy price ($1.00 ± 0.0001) of the test feed published now; returns its address.
    pub async fn fresh_price(&mut self) -> Pubkey {
        let now = self.now().await;
        self.price_at(100_000_000, 10_000, now).await
    }

    /// Installs a price (1e-8 units) published at `publish_time`; returns its address.
    pub async fn price_at(&mut self, price: i64, conf: u64, publish_time: i64) -> Pubkey {
        let address = Pubkey::new_unique();
        oracle::install(&mut self.ctx, &address, &oracle::test_price(price, conf, publish_time));
        address
    }

    /// `buy_cover` by `buyer` (owner and payer) with a fresh healthy price; returns the policy address.
    pub async fn buy_cover(
        &mut self,
        buyer: &Staker,
        market: &Pubkey,
        amount: u64,
        days: u16,
        max_premium: u64,
    ) -> Result<Pubkey, BanksClientError> {
        let price = self.fresh_price().await;
        self.buy_cover_with_price(buyer, market, amount, days, max_premium, &price)
            .await
    }

    /// `buy_cover` by `buyer` with the price update at `price_update`.
    pub async fn buy_cover_with_price(
        &mut self,
        buyer: &Staker,
        market: &Pubkey,
        amount: u64,
        days: u16,
        max_premium: u64,
        price_update: &Pubkey,
    ) -> Result<Pubkey, BanksClientError> {
        let id = self.market(market).await.policy_count;
        let k = ix::BuyCoverKeys {
            keys: self.keys,
            market: *market,
            policy_id: id,
            payer_collateral: buyer.collateral,
            price_update: *price_update,
        };
        let ix = ix::buy_cover(&buyer.key(), &buyer.key(), &k, amount, days, max_premium);
        self.send(&[ix], &[&buyer.kp]).await?;
        Ok(pda::policy(market, id).0)
    }

    /// Sets the pool's pause flag (signed by the authority).
    pub async fn set_pool_paused(&mut self, paused: bool) -> Result<(), BanksClientError> {
        let auth = self.authority.insecure_clone();
        let ix = ix::set_pool_paused(&auth.pubkey(), &self.keys.pool, paused);
        self.send(&[ix], &[&auth]).await
    }

    /// Sets a market's pause flag (signed by the authority).
    pub async fn set_market_paused(&mut self, market: &Pubkey, paused: bool) -> Result<(), BanksClientError> {
        let auth = self.authority.insecure_clone();
        let ix = ix::set_market_paused(&auth.pubkey(), &self.keys.pool, market, paused);
        self.send(&[ix], &[&auth]).await
    }

    /// `settle_policies` for `(policy, token account)` pairs (sent by the bank payer).
    pub async fn settle(&mut self, market: &Pubkey, pairs: &[(Pubkey, Pubkey)]) -> Result<(), BanksClientError> {
        let ix = ix::settle_policies(&self.keys, market, pairs);
        self.send(&[ix], &[]).await
    }

    /// `release_reserve` (sent by the bank payer).
    pub async fn release(&mut self, market: &Pubkey) -> Result<(), BanksClientError> {
        let ix = ix::release_reserve(&self.keys.pool, market);
        self.send(&[ix], &[]).await
    }

    /// Value of `shares` of `tranche` now (books as stored; call after an accruing instruction).
    pub async fn share_value(&mut self, tranche: u8, shares: u64) -> u64 {
        let pool = self.pool().await;
        let t = pool.tranches[tranche as usize];
        let mint = self.keys.share_mint(tranche);
        let supply = self.supply(&mint).await;
        coverage_core::shares::assets_for_shares(shares, t.assets, supply + t.dead_shares).unwrap()
    }

    /// Invariant 1 of PROTOCOL.md: vault ≥ tranche assets + unearned premium + reserves + fees owed.
    /// Returns (vault, books).
    pub async fn books(&mut self) -> (u64, u64) {
        let pool = self.pool().await;
        let ledger = self.ledger().await;
        let vault = self.vault_balance().await;
        let books = coverage_sdk::quote::books(&pool, &ledger).unwrap();
        (vault, books)
    }
}

/// Signs with the payer plus `signers` and processes `ixs`, after a
/// compute-unit limit with a process-wide counter in it (1.3M–1.4M units):
/// every transaction is unique, so the same instruction can be sent twice on
/// one blockhash without `AlreadyProcessed` (waiting for a new blockhash costs
/// a slot each time), and on the SBF VM no instruction is held to the default
/// 200 000 units. Refuses (panics on) what a cluster would refuse.
pub async fn send_tx(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), BanksClientError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NONCE: AtomicU64 = AtomicU64::new(0);
    let blockhash = ctx.banks_client.get_latest_blockhash().await.unwrap();
    let payer = ctx.payer.insecure_clone();
    let mut all: Vec<&Keypair> = vec![&payer];
    all.extend_from_slice(signers);
    let units = 1_400_000 - (NONCE.fetch_add(1, Ordering::Relaxed) % 100_000) as u32;
    let mut with_limit = vec![solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(units)];
    with_limit.extend_from_slice(ixs);
    let tx = Transaction::new_signed_with_payer(&with_limit, Some(&payer.pubkey()), &all, blockhash);
    assert_fits(&tx);
    ctx.banks_client.process_transaction(tx).await
}

/// The bank takes transactions of any size; a cluster takes at most 1 232
/// bytes and 64 account locks. Every transaction a test sends is checked, so
/// no test passes with one a cluster would refuse.
#[track_caller]
pub fn assert_fits(tx: &Transaction) {
    let versioned = solana_transaction::versioned::VersionedTransaction::from(tx.clone());
    if let Err(e) = coverage_sdk::tx::check(&versioned) {
        panic!("a cluster would refuse this transaction: {e}");
    }
}

/// Creates and initializes a mint.
pub async fn create_mint(
    ctx: &mut ProgramTestContext,
    mint: &Keypair,
    authority: &Pubkey,
    token_program: &Pubkey,
    decimals: u8,
) {
    create_mint_with_extensions(ctx, mint, authority, token_program, decimals, &[], Vec::new()).await;
}

/// [`create_mint`] with Token-2022 `extensions`, initialized by `init`
/// (the extensions' own instructions, sent before `initialize_mint2`).
pub async fn create_mint_with_extensions(
    ctx: &mut ProgramTestContext,
    mint: &Keypair,
    authority: &Pubkey,
    token_program: &Pubkey,
    decimals: u8,
    extensions: &[spl_token_2022::extension::ExtensionType],
    init: Vec<Instruction>,
) {
    use spl_token_2022::extension::ExtensionType;
    let rent = ctx.banks_client.get_rent().await.unwrap();
    let len = ExtensionType::try_calculate_account_len::<spl_token_2022::state::Mint>(extensions).unwrap();
    let mut ixs = vec![solana_system_interface::instruction::create_account(
        &ctx.payer.pubkey(),
        &mint.pubkey(),
        rent.minimum_balance(len),
        len as u64,
        token_program,
    )];
    ixs.extend(init);
    ixs.push(
        spl_token_2022::instruction::initialize_mint2(token_program, &mint.pubkey(), authority, None, decimals)
            .unwrap(),
    );
    send_tx(ctx, &ixs, &[mint]).await.unwrap();
}

/// Creates and initializes a token account of `mint` owned by `owner`.
pub async fn create_token_account(
    ctx: &mut ProgramTestContext,
    mint: &Pubkey,
    owner: &Pubkey,
    token_program: &Pubkey,
) -> Pubkey {
    create_token_account_at(ctx, &Keypair::new(), mint, owner, token_program).await
}

/// [`create_token_account`] at the address of `account`.
pub async fn create_token_account_at(
    ctx: &mut ProgramTestContext,
    account: &Keypair,
    mint: &Pubkey,
    owner: &Pubkey,
    token_program: &Pubkey,
) -> Pubkey {
    use spl_token_2022::extension::{BaseStateWithExtensions, ExtensionType, StateWithExtensions};
    let rent = ctx.banks_client.get_rent().await.unwrap();
    // Token-2022 accounts carry the extensions their mint requires (e.g. a fee amount)
    let mint_data = ctx.banks_client.get_account(*mint).await.unwrap().expect("mint").data;
    let mint_state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&mint_data).unwrap();
    let required = ExtensionType::get_required_init_account_extensions(&mint_state.get_extension_types().unwrap());
    let len = ExtensionType::try_calculate_account_len::<spl_token_2022::state::Account>(&required).unwrap();
    let ixs = [
        solana_system_interface::instruction::create_account(
            &ctx.payer.pubkey(),
            &account.pubkey(),
            rent.minimum_balance(len),
            len as u64,
            token_program,
        ),
        spl_token_2022::instruction::initialize_account3(token_program, &account.pubkey(), mint, owner).unwrap(),
    ];
    send_tx(ctx, &ixs, &[account]).await.unwrap();
    account.pubkey()
}

/// The custom error code of a failed transaction, if it failed with one.
pub fn custom_code(err: &BanksClientError) -> Option<u32> {
    use solana_program_test::BanksClientError as E;
    let tx_err = match err {
        E::TransactionError(e) => e.clone(),
        E::SimulationError { err, .. } => err.clone(),
        _ => return None,
    };
    match tx_err {
        solana_transaction::TransactionError::InstructionError(
            _,
            anchor_lang::solana_program::instruction::error::InstructionError::Custom(c),
        ) => Some(c),
        _ => None,
    }
}

/// The numeric code of one of the program's named errors.
pub fn code(e: ErrorCode) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + e as u32
}

/// Asserts a transaction failed with exactly the program's named error `e`.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(res: Result<T, BanksClientError>, e: ErrorCode) {
    let err = res.expect_err(&format!("expected {e:?}, the transaction succeeded"));
    assert_eq!(
        custom_code(&err),
        Some(code(e)),
        "expected {e:?} ({}), got {err:?}",
        code(e)
    );
}
