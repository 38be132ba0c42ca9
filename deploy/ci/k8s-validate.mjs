// Validates rendered Kubernetes manifests (multi-document YAML) against the JSON schemas shipped in the npm packages
// kubernetes-models and @kubernetes-models/prometheus-operator (required fields, types, enums).
// A kind without a schema is an error, not a skip: everything the chart renders must be checked.
// Usage: node k8s-validate.mjs [--expect Kind,Kind,...] file.yaml...
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
let expected = [];
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--expect") expected = args[++i].split(",");
  else files.push(args[i]);
}

function modulePath(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "") return `kubernetes-models/${version}`;
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}`;
  return `kubernetes-models/${group}/${version}`;
}

let ok = 0, bad = 0;
for (const file of files) {
  const seen = new Set();
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) { console.error(`FAIL ${file}: YAML error: ${doc.errors[0].message}`); bad++; continue; }
    const obj = doc.toJS();
    if (!obj) continue;
    const { apiVersion, kind } = obj;
    const name = `${file}: ${kind}/${obj.metadata?.name}`;
    let Model;
    try { Model = (await import(modulePath(apiVersion)))[kind]; } catch { /* unknown group or version */ }
    if (!Model) { console.error(`FAIL ${name}: no schema for ${apiVersion} ${kind}`); bad++; continue; }
    try {
      new Model(obj).validate();
      seen.add(kind);
      ok++;
      console.log(`ok   ${name}`);
    } catch (e) {
      bad++;
      console.error(`FAIL ${name}: ${e.message}`);
    }
  }
  for (const kind of expected.filter((k) => !seen.has(k))) {
    console.error(`FAIL ${file}: expected a valid ${kind}, none rendered`);
    bad++;
  }
}
console.log(`k8s schema validation: ${ok} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
