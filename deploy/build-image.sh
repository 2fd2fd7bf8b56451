#!/bin/sh
# The build stage of the relay image, as one script: the Dockerfile runs it, and so does
# test/image.test.ts, in a temporary copy of the repository (no Docker engine runs on this
# project's machines). Run from the repository root. OUT receives what the image runs and nothing
# else: the compiled relay and protocol, their package files, and production dependencies only.
set -eu
out=${1:?usage: sh deploy/build-image.sh OUT}

npm ci --no-audit --no-fund
npm run build

rm -rf "$out"
mkdir -p "$out/protocol" "$out/server"
cp package.json package-lock.json .npmrc "$out/"
for pkg in protocol server; do
  cp "$pkg/package.json" "$out/$pkg/"
  cp -R "$pkg/dist" "$out/$pkg/dist"
done
find "$out" -name '*.tsbuildinfo' -delete

# The lock file pins every version; only the relay's own production dependencies are installed.
cd "$out"
npm ci --omit=dev --workspace=@liaison/server --no-audit --no-fund
