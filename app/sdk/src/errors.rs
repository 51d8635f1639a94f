//! Names and messages of the program's errors, from the committed IDL, so
//! every client error says what was wrong.

use std::collections::BTreeMap;
use std::sync::OnceLock;

static IDL: &str = include_str!("../../../idl/coverage_pool.json");

fn table() -> &'static BTreeMap<u32, (String, String)> {
    static TABLE: OnceLock<BTreeMap<u32, (String, String)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let v: serde_json::Value = serde_json::from_str(IDL).expect("the committed IDL is JSON");
        v["errors"]
            .as_array()
            .map(|errs| {
                errs.iter()
                    .filter_map(|e| {
                        Some((
                            e["code"].as_u64()? as u32,
                            (
                                e["name"].as_str()?.to_string(),
                                e["msg"].as_str().unwrap_or("").to_string(),
                            ),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// `(name, message)` of the program's error `code`.
pub fn lookup(code: u32) -> Option<(String, String)> {
    table().get(&code).cloned()
}

/// Rewrites any `custom program error: 0x…` / `Custom(n)` in `text` with the
/// error's name and message.
pub fn explain(text: &str) -> String {
    let mut code = None;
    if let Some(i) = text.find("Custom(") {
        code = text[i + 7..].split(')').next().and_then(|s| s.parse::<u32>().ok());
    } else if let Some(i) = text.find("custom program error: 0x") {
        code = text[i + 24..]
            .split(|c: char| !c.is_ascii_hexdigit())
            .next()
            .and_then(|s| u32::from_str_radix(s, 16).ok());
    }
    match code.and_then(|c| lookup(c).map(|n| (c, n))) {
        Some((c, (name, msg))) => format!("{name} ({c}): {msg}"),
        None => text.to_string(),
    }
}
