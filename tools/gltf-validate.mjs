// Validate glTF/GLB files with the Khronos glTF validator (npm `gltf-validator`).
// Usage: node tools/gltf-validate.mjs FILE...
// Prints one JSON object per line: {"file", "errors", "warnings", "infos", "messages": [...]}
// Exit status: 0 when every file has zero errors, 1 otherwise, 2 on a usage/IO problem.
import fs from "node:fs";
import path from "node:path";
import validator from "gltf-validator";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node tools/gltf-validate.mjs FILE...");
  process.exit(2);
}
let failed = false;
for (const file of files) {
  let bytes;
  try {
    bytes = new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    console.error(`${file}: ${err.message}`);
    process.exit(2);
  }
  let report;
  try {
    report = await validator.validateBytes(bytes, {
      uri: path.basename(file),
      maxIssues: 100,
      externalResourceFunction: (uri) =>
        new Promise((resolve, reject) => {
          fs.readFile(path.resolve(path.dirname(file), decodeURIComponent(uri)), (err, data) =>
            err ? reject(err.toString()) : resolve(new Uint8Array(data)));
        }),
    });
  } catch (err) {
    console.log(JSON.stringify({ file, errors: 1, warnings: 0, infos: 0,
      messages: [{ code: "VALIDATOR_REJECTED", severity: 0, message: String(err) }] }));
    failed = true;
    continue;
  }
  const issues = report.issues;
  if (issues.numErrors > 0) failed = true;
  console.log(JSON.stringify({
    file, errors: issues.numErrors, warnings: issues.numWarnings, infos: issues.numInfos,
    messages: issues.messages.map((m) => ({ code: m.code, severity: m.severity, message: m.message, pointer: m.pointer })),
  }));
}
process.exit(failed ? 1 : 0);
