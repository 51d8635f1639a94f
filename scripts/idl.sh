#!/usr/bin/env bash
# Generates the program's IDL on the host into idl/coverage_pool.json: runs
# the `__anchor_private_print_idl` tests (what `anchor idl build` runs) and
# merges their pieces (address, program, constants, errors, events) the way
# anchor-cli does. With --check, fails if the committed IDL is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
raw=$(cd programs/coverage_pool && cargo test --quiet __anchor_private_print_idl --features idl-build -- --show-output --test-threads=1 2>/dev/null)
json=$(printf '%s\n' "$raw" | python3 -c '
import json, re, sys
text = sys.stdin.read()
def blocks(kind):
    return [json.loads(m) for m in re.findall(r"--- IDL begin %s ---\n(.*?)--- IDL end %s ---" % (kind, kind), text, re.S)]
idl = blocks("program")[0]
# the program block leaves "address" empty: anchor-cli fills it from the
# address block, i.e. the program id of `declare_id!` (clients, e.g. Codama,
# take the program address from here)
idl["address"] = blocks("address")[0]
idl["constants"] = sorted(blocks("const"), key=lambda c: c["name"])
idl["errors"] = blocks("errors")[0]
events = blocks("event")
idl["events"] = sorted((e["event"] for e in events), key=lambda e: e["name"])
names = {t["name"] for t in idl["types"]}
for e in events:
    for t in e["types"]:
        if t["name"] not in names:
            idl["types"].append(t)
            names.add(t["name"])
idl["types"].sort(key=lambda t: t["name"])
out = json.dumps(idl, indent=2)
# anchor-cli shortens fully qualified type paths (coverage_pool::events::X -> X)
out = re.sub(r"\"(?:[a-z_0-9]+::)+([A-Za-z0-9_]+)\"", lambda m: chr(34) + m.group(1) + chr(34), out)
print(out)
')
mkdir -p idl
if [ "${1:-}" = "--check" ]; then
  if ! diff -u idl/coverage_pool.json <(printf '%s\n' "$json") >/dev/null; then
    echo "idl/coverage_pool.json is stale: run scripts/idl.sh and commit it" >&2
    diff -u idl/coverage_pool.json <(printf '%s\n' "$json") | head -40 >&2 || true
    exit 1
  fi
  echo "IDL is fresh"
else
  printf '%s\n' "$json" > idl/coverage_pool.json
  echo "wrote idl/coverage_pool.json"
fi
