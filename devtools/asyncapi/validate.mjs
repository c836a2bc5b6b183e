// Validates AsyncAPI documents with the official parser (@asyncapi/parser), as integrators' tools
// (AsyncAPI Studio, the CLI, code generators) will read them.
//
//   node validate.mjs FILE...
//
// Prints one line per diagnostic of severity error (file, JSON path, rule code, message) and exits
// 1 when there is any, 2 on wrong usage. Warnings and hints are not printed: they are style advice
// (e.g. "operation should have a description") that the contract does not promise to follow.
import { Parser, fromFile, DiagnosticSeverity } from "@asyncapi/parser";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs FILE...");
  process.exit(2);
}

const parser = new Parser();
let errors = 0;
for (const file of files) {
  // fromFile passes the file's path as the source, so relative $refs resolve beside it.
  const { diagnostics } = await fromFile(parser, file).parse();
  for (const diagnostic of diagnostics) {
    if (diagnostic.severity !== DiagnosticSeverity.Error) continue;
    errors += 1;
    const path = diagnostic.path.length ? `/${diagnostic.path.join("/")}` : "/";
    console.log(`${file}: ${path}: ${diagnostic.code}: ${diagnostic.message}`);
  }
}

if (errors > 0) {
  console.log(`${errors} AsyncAPI error(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.log(`${files.length} AsyncAPI document(s) valid`);
