#!/usr/bin/env bash
# Install the real renderers the tests check mlci's output in: Debian's chromium (the HTML report,
# driven by Playwright's Python client, which never downloads a browser of its own) and Mermaid's
# own parser under node (every chart block), into .ci/.npm-render (gitignored, kept between runs).
# Two Mermaid releases: the newest, and the 10.9 line that older GitHub Enterprise servers run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null || [ ! -d /usr/share/fonts/truetype/noto ]; then
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
fi

npm_dir=.ci/.npm-render
if [ ! -f "$npm_dir/node_modules/mermaid10/package.json" ] || [ ! -f "$npm_dir/node_modules/jsdom/package.json" ]; then
  npm install --silent --no-audit --no-fund --prefix "$npm_dir" \
    mermaid@12.3.0 mermaid10@npm:mermaid@10.9.5 jsdom@26.1.0 >/dev/null
fi
echo "render tools: $(chromium --version 2>/dev/null | head -1); mermaid $(node -p "require('./$npm_dir/node_modules/mermaid/package.json').version") and $(node -p "require('./$npm_dir/node_modules/mermaid10/package.json').version")"
