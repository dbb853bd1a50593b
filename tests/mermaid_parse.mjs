// Mermaid's own parser for the tests (tests/renderers.py drives it): one JSON request per
// line on stdin, {"text": "..."}; one JSON answer per line on stdout, {"<package>": null |
// "<error>"} for each Mermaid release installed under the node_modules folder given as the
// first argument (.ci/render-tools.sh installs them). jsdom stands in for the browser's DOM,
// which Mermaid's sanitiser needs even to parse.
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
const names = process.argv.slice(3);
const require = createRequire(path.join(modules, "noop.js"));
const { JSDOM } = require("jsdom");
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;

const parsers = {};
for (const name of names) {
  const manifest = require(`${name}/package.json`);
  const entry = path.join(modules, name, manifest.module);
  const { default: mermaid } = await import(pathToFileURL(entry).href);
  mermaid.initialize({ startOnLoad: false });
  parsers[`${name}@${manifest.version}`] = mermaid;
}
process.stdout.write(JSON.stringify({ ready: Object.keys(parsers) }) + "\n");

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const { text } = JSON.parse(line);
  const answer = {};
  for (const [name, mermaid] of Object.entries(parsers)) {
    try {
      await mermaid.parse(text);
      answer[name] = null;
    } catch (error) {
      answer[name] = String(error?.message ?? error);
    }
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
