#!/usr/bin/env bash
# Installs what tests/editors/test_vscode_real.py drives: a real VS Code
# (code-server from npm), Debian's Chromium for Playwright, and the extension
# built into a .vsix from this checkout. Idempotent: a second run only checks
# (a few seconds) and rebuilds the .vsix when its sources changed.
#
#   bash tests/editors/install_clients.sh
#
# Needs the Debian archive, the npm registry and PyPI, nothing else (no browser
# or ripgrep download from GitHub). Run as root or with sudo-less apt rights.
# CODELLAMA_LSP_EDITOR_TOOLS: where code-server goes
# (default ~/.cache/codellama-lsp/editor-tools; the test reads the same variable).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TOOLS="${CODELLAMA_LSP_EDITOR_TOOLS:-$HOME/.cache/codellama-lsp/editor-tools}"
PYTHON="${PYTHON:-$(command -v python || command -v python3)}"
# code-server 4.100.3 (VS Code 1.100.3) is the newest release that runs on Node 20.
CODE_SERVER_VERSION=4.100.3
# Its VS Code pins @vscode/ripgrep 1.15.11, whose postinstall downloads
# ripgrep v13.0.0-10 from GitHub unless this file is already in its cache.
RIPGREP_PACKAGE_VERSION=1.15.11
RIPGREP_RELEASE=v13.0.0-10

log() { printf 'install_clients: %s\n' "$*" >&2; }

apt_packages() {
    local missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    command -v rg >/dev/null || missing+=(ripgrep)
    command -v krb5-config >/dev/null || missing+=(libkrb5-dev) # code-server's kerberos module
    command -v make >/dev/null || missing+=(make)
    command -v g++ >/dev/null || missing+=(g++)
    [ ${#missing[@]} -eq 0 ] && return
    log "apt-get install ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    if ! $sudo apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"; then
        $sudo apt-get update
        $sudo apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
    fi
}

playwright_package() {
    "$PYTHON" -c 'import playwright.sync_api' 2>/dev/null && return
    log "pip install playwright (the browser is Debian's chromium, nothing downloaded)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$PYTHON" -m pip install --quiet playwright
}

# @vscode/ripgrep's postinstall looks for $TMPDIR/vscode-ripgrep-cache-<package
# version>/ripgrep-<release>-<target>.tar.gz before downloading; put Debian's rg there.
ripgrep_cache() {
    local target
    case "$(uname -m)" in
        x86_64) target=x86_64-unknown-linux-musl ;;
        aarch64) target=aarch64-unknown-linux-musl ;;
        *) log "no ripgrep cache for $(uname -m); npm will try GitHub"; return ;;
    esac
    local cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RIPGREP_PACKAGE_VERSION"
    local asset="$cache/ripgrep-$RIPGREP_RELEASE-$target.tar.gz"
    [ -s "$asset" ] && return
    mkdir -p "$cache"
    local stage
    stage="$(mktemp -d)"
    cp "$(command -v rg)" "$stage/rg"
    tar czf "$asset" -C "$stage" rg
    rm -rf "$stage"
}

code_server() {
    local bin="$TOOLS/node_modules/.bin/code-server"
    if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION "; then
        return
    fi
    local major
    major="$(node -p 'process.versions.node.split(".")[0]')"
    if [ "$major" != 20 ]; then
        log "code-server $CODE_SERVER_VERSION needs Node 20 (this is $(node --version))"
        exit 1
    fi
    ripgrep_cache
    log "npm install code-server@$CODE_SERVER_VERSION into $TOOLS (builds native modules: minutes)"
    mkdir -p "$TOOLS"
    [ -f "$TOOLS/package.json" ] || echo '{"private": true}' >"$TOOLS/package.json"
    # unsafe_perm: its postinstall runs npm again as root; yes: node-pty runs `npx node-gyp`.
    (cd "$TOOLS" && npm_config_unsafe_perm=true npm_config_yes=true \
        npm install --no-audit --no-fund --omit=dev "code-server@$CODE_SERVER_VERSION")
    "$bin" --version
}

# The .vsix from this checkout's sources, rebuilt when any source is newer. Builds are
# kept in $TOOLS/vsix-cache under a hash of everything that goes into the package, so a
# fresh clone of unchanged sources (.ci/run) copies it instead of `npm ci` + packaging.
vsix() {
    local dir="$ROOT/editor_configs/vscode"
    local version
    version="$(node -p "require('$dir/package.json').version")"
    local out="$dir/codellama-lsp-$version.vsix"
    if [ -f "$out" ] && [ -z "$(find "$dir/src" "$dir/package.json" "$dir/package-lock.json" \
        "$dir/README.md" -newer "$out" -print -quit)" ]; then
        return
    fi
    local key cached
    key="$(cd "$dir" && find src package.json package-lock.json README.md tsconfig.json \
        .vscodeignore -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"
    cached="$TOOLS/vsix-cache/$key/$(basename "$out")"
    if [ -s "$cached" ]; then
        log "$out: unchanged sources, copied from $cached"
        cp "$cached" "$out"
        touch "$out"
        return
    fi
    log "building $out"
    (cd "$dir" && npm ci --no-audit --no-fund && npm run package)
    touch "$out"
    mkdir -p "$(dirname "$cached")"
    cp "$out" "$cached.tmp" && mv "$cached.tmp" "$cached"
}

apt_packages
playwright_package
code_server
vsix
log "ready: $TOOLS/node_modules/.bin/code-server, /usr/bin/chromium, the .vsix"
