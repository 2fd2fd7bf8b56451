#!/bin/sh
# The build stage of the relay image, as one script: the Dockerfile runs it, and so does
# test/image.test.ts, in a temporary copy of the repository (no Docker engine runs on this
# project's machines). Run from the repository root. OUT receives what the image runs and nothing
# else: the compiled relay and protocol, their package files, production dependencies only, and the
# built web app (web/dist), which the relay serves at / from its default LIAISON_WEB_DIR.
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
# The web app's static files only (never its source nor its dependencies), where the relay looks
# for them: web/dist beside server/. A tree without web/ (before the web package existed) builds
# a relay whose / says the app is not built.
if [ -f web/package.json ]; then
  # Unless the root build above built it already.
  [ -f web/dist/index.html ] || npm run build -w @liaison/web
  test -f web/dist/index.html
  mkdir -p "$out/web"
  cp -R web/dist "$out/web/dist"
fi
find "$out" -name '*.tsbuildinfo' -delete

# The lock file pins every version; only the relay's own production dependencies are installed.
cd "$out"
npm ci --omit=dev --workspace=@liaison/server --no-audit --no-fund
