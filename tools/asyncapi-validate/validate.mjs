// Validates an AsyncAPI document with the official parser: prints every diagnostic as JSON
// lines ({severity, code, message, path}) and exits 1 when any is an error (severity 0).
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs <asyncapi.yaml>");
  process.exit(2);
}
const { diagnostics } = await new Parser().parse(readFileSync(path, "utf8"), { source: path });
for (const d of diagnostics) {
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path.join(".") }));
}
process.exit(diagnostics.some((d) => d.severity === 0) ? 1 : 0);
