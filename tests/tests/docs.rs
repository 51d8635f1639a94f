//! SECURITY.md names a test for every cell of its attack matrix and every
//! economic attack: each one must exist, so the document cannot point at a
//! test that was renamed or never written.

use std::path::Path;

fn rust_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "target" && name != "node_modules" && !name.starts_with('.') {
                rust_sources(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_test_security_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let mut sources = String::new();
    for dir in ["tests", "crates", "app", "fuzz/fuzz_targets"] {
        rust_sources(&root.join(dir), &mut sources);
    }
    let mut named = 0;
    let mut missing = Vec::new();
    for cell in doc.split('`').skip(1).step_by(2) {
        let parts: Vec<&str> = cell.split("::").collect();
        let is_test_path = parts.len() >= 2
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if !is_test_path {
            continue;
        }
        let name = parts.last().unwrap().trim_end_matches('*');
        if name.is_empty() {
            continue;
        }
        named += 1;
        if !sources.contains(&format!("fn {name}")) {
            missing.push(cell.to_string());
        }
    }
    assert!(named > 100, "only {named} test names found in SECURITY.md");
    assert!(
        missing.is_empty(),
        "SECURITY.md names tests that do not exist: {missing:?}"
    );
}
