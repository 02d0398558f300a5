#!/usr/bin/env bash
# Fetches the demo data set: the UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015),
# 1,000 labelled sentences each from Amazon, IMDb and Yelp, as shipped in the npm package
# sentiment@5.0.2 (package/test/fixtures/{amazon,imdb,yelp}.json).
#
# Result: <project root>/data/uci-sentiment/{amazon,imdb,yelp}.json (gitignored).
# Each file is a JSON array of {"text": string, "class": 0|1}; the package appends one sentinel
# entry {"text": "", "class": null} to each file, which the loaders skip.
#
# Idempotent: when the three files are present and verify, it changes nothing and needs no
# network. Otherwise it runs `npm pack` (npm registry only), extracts the three files into a
# temporary folder, verifies them and only then moves them into place.
# Env: SPARKBERT_DATA_DIR overrides the target folder; NPM (default npm) names the client.
set -euo pipefail

PACKAGE="sentiment@5.0.2"
FILES=(amazon imdb yelp)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${SPARKBERT_DATA_DIR:-$ROOT/data/uci-sentiment}"
NPM="${NPM:-npm}"

die() {
    echo "fetch-data: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node is required to verify the files (apt-get install nodejs npm)"

# verify DIR: prints a summary and returns 0 when the three files hold 1,000 rows each,
# 3,000 in all, labels exactly {0, 1}.
verify() {
    node - "$1" "${FILES[@]}" <<'JS'
const fs = require("fs");
const path = require("path");
const [dir, ...names] = process.argv.slice(2);
let total = 0;
const labels = new Set();
const parts = [];
for (const name of names) {
  const file = path.join(dir, name + ".json");
  if (!fs.existsSync(file)) { console.error(`missing ${file}`); process.exit(1); }
  let rows;
  try { rows = JSON.parse(fs.readFileSync(file, "utf8")); }
  catch (e) { console.error(`${file}: not JSON (${e.message})`); process.exit(1); }
  if (!Array.isArray(rows)) { console.error(`${file}: not a JSON array`); process.exit(1); }
  // Skip the package's sentinel entries ({"text": "", "class": null}).
  const real = rows.filter((r) => !(r.class === null && r.text === ""));
  for (const r of real) {
    if (typeof r.text !== "string" || r.text.trim() === "" || (r.class !== 0 && r.class !== 1)) {
      console.error(`${file}: bad row ${JSON.stringify(r)}`); process.exit(1);
    }
    labels.add(r.class);
  }
  if (real.length !== 1000) { console.error(`${file}: ${real.length} rows, expected 1000`); process.exit(1); }
  total += real.length;
  parts.push(`${name}=${real.length}`);
}
if (total !== 3000 || labels.size !== 2) {
  console.error(`expected 3000 rows and 2 labels, got ${total} rows and ${labels.size} labels`);
  process.exit(1);
}
console.log(`${total} rows (${parts.join(", ")}), labels ${[...labels].sort().join("/")}`);
JS
}

if [[ -d "$DEST" ]] && summary="$(verify "$DEST" 2>/dev/null)"; then
    echo "fetch-data: UCI sentiment data already present in $DEST: $summary"
    exit 0
fi

command -v "$NPM" >/dev/null 2>&1 || die "npm is required to fetch $PACKAGE (apt-get install npm)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "fetch-data: downloading $PACKAGE from the npm registry"
# No stdin, no prompts, no audit/fund calls: works under CI=true.
(cd "$TMP" && "$NPM" pack "$PACKAGE" --pack-destination "$TMP" --silent --no-audit --no-fund \
    </dev/null >"$TMP/pack.log" 2>&1) || { cat "$TMP/pack.log" >&2; die "npm pack $PACKAGE failed"; }
TGZ="$(ls "$TMP"/sentiment-*.tgz 2>/dev/null | head -n 1)"
[[ -n "$TGZ" ]] || die "npm pack produced no tarball in $TMP"

members=()
for f in "${FILES[@]}"; do members+=("package/test/fixtures/$f.json"); done
mkdir -p "$TMP/x"
tar -xzf "$TGZ" -C "$TMP/x" "${members[@]}" || die "could not extract ${members[*]} from $TGZ"

summary="$(verify "$TMP/x/package/test/fixtures")" || die "the files in $TGZ did not verify"

mkdir -p "$(dirname "$DEST")"
STAGE="$(mktemp -d "$(dirname "$DEST")/.uci-sentiment.XXXXXX")"
for f in "${FILES[@]}"; do cp "$TMP/x/package/test/fixtures/$f.json" "$STAGE/"; done
rm -rf "$DEST"
mv "$STAGE" "$DEST"
chmod 755 "$DEST"
echo "fetch-data: UCI sentiment data written to $DEST: $summary"
