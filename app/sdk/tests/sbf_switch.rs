//! The switch to the SBF VM (`COVERAGE_SBF`): what it chooses, and that it
//! falls back to the native entrypoints, saying so, when the ELF files are
//! missing. (Running the suite on the VM needs `anchor build`, which only the
//! hosted workflow `.github/workflows/sbf.yml` can do.)

use coverage_sdk::bank::{choose_runtime, Runtime};

fn dir_with(files: &[&str]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "coverage-sbf-{}-{}",
        std::process::id(),
        files.join("-").replace('.', "_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for f in files {
        std::fs::write(dir.join(f), b"\x7fELF").unwrap();
    }
    dir
}

#[test]
fn native_unless_asked() {
    let deploy = dir_with(&["coverage_pool.so", "example_lender.so"]);
    for off in [None, Some(""), Some("0"), Some("false")] {
        assert_eq!(choose_runtime(off, &deploy), (Runtime::Native, None), "{off:?}");
    }
}

#[test]
fn asked_with_both_programs_built_it_runs_them() {
    let deploy = dir_with(&["coverage_pool.so", "example_lender.so"]);
    assert_eq!(choose_runtime(Some("1"), &deploy), (Runtime::Sbf(deploy.clone()), None));
    // or from a directory of one's own
    let elsewhere = dir_with(&["coverage_pool.so", "example_lender.so", "x"]);
    assert_eq!(
        choose_runtime(Some(elsewhere.to_str().unwrap()), &deploy),
        (Runtime::Sbf(elsewhere.clone()), None)
    );
}

#[test]
fn asked_without_the_elf_files_it_falls_back_and_says_why() {
    let empty = dir_with(&[]);
    let (runtime, note) = choose_runtime(Some("1"), &empty);
    assert_eq!(runtime, Runtime::Native);
    let note = note.expect("a fallback is said");
    assert!(
        note.contains("coverage_pool.so and") && note.contains("example_lender.so are missing"),
        "{note}"
    );
    assert!(note.contains("anchor build") && note.contains("native"), "{note}");
    let half = dir_with(&["coverage_pool.so"]);
    let (runtime, note) = choose_runtime(Some("true"), &half);
    assert_eq!(runtime, Runtime::Native);
    assert!(note.unwrap().contains("example_lender.so is missing"));
}

/// In this process nothing asked for the VM (CI sets no switch here): the
/// bank runs the native entrypoints, and a transaction goes through.
#[tokio::test]
async fn without_the_switch_the_bank_runs_natively() {
    if std::env::var_os(coverage_sdk::bank::SBF_SWITCH).is_some() {
        eprintln!("skipped: {} is set in this environment", coverage_sdk::bank::SBF_SWITCH);
        return;
    }
    assert!(!coverage_sdk::bank::runs_on_sbf());
    let mut bank = coverage_sdk::bank::BankTransport::start(1_677_628_800).await.unwrap();
    let (mint, _) = bank.create_mint(6).await.unwrap();
    assert!(bank.mint_supply(&mint).await.is_ok());
}

/// On the VM, each program is the ELF file of the chosen directory, deployed
/// at its id as the BPF loader's executable account (read from the directory
/// itself: no `SBF_OUT_DIR` is set in the process).
#[tokio::test]
async fn on_the_vm_the_programs_are_the_chosen_elf_files() {
    let dir = dir_with(&["coverage_pool.so", "example_lender.so", "vm"]);
    std::fs::write(dir.join("example_lender.so"), b"\x7fELF lender").unwrap();
    let ctx = coverage_sdk::bank::program_test_on(&Runtime::Sbf(dir))
        .start_with_context()
        .await;
    for (id, elf) in [
        (coverage_pool::ID, &b"\x7fELF"[..]),
        (example_lender::ID, &b"\x7fELF lender"[..]),
    ] {
        let account = ctx.banks_client.get_account(id).await.unwrap().expect("deployed");
        assert_eq!(account.data, elf);
        assert!(account.executable);
        assert_eq!(account.owner, solana_sdk_ids::bpf_loader::id());
    }
}
