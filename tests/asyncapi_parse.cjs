// Parses AsyncAPI documents with the official parser (@asyncapi/parser, found through
// NODE_PATH) and prints one JSON line per file: its errors and warnings.
// Used by tests/test_asyncapi.py:  NODE_PATH=.local/node/node_modules node tests/asyncapi_parse.cjs docs/asyncapi/*.json
"use strict";
const { readFileSync } = require("node:fs");
const { Parser } = require("@asyncapi/parser");

async function main(files) {
  const parser = new Parser();
  let failed = false;
  for (const file of files) {
    const { diagnostics } = await parser.parse(readFileSync(file, "utf8"), { source: file });
    const describe = (d) => `${d.code} at ${d.path.join("/")}: ${d.message}`;
    const errors = diagnostics.filter((d) => d.severity === 0).map(describe);
    const warnings = diagnostics.filter((d) => d.severity !== 0).map(describe);
    console.log(JSON.stringify({ file, errors: errors.length, first_errors: errors.slice(0, 5), warnings }));
    failed = failed || errors.length > 0;
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
