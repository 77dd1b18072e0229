// Validates KEDA objects (JSON lines on stdin) against KEDA's CRD schemas, as compiled by the
// npm package @kubernetes-models/keda (generated from kedacore/keda's CRDs). Usage:
//   node keda_validate.mjs <folder holding node_modules>  < objects.jsonl
// Prints one line per object, "ok <kind>/<name>" or "invalid <kind>/<name>: <errors>"; exits 1
// if any object is invalid. Run by tests/deploy/test_k8s_render.py.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const root = join(process.argv[2], "node_modules", "@kubernetes-models", "keda", "keda.sh", "v1alpha1");
let failed = false;
for (const line of readFileSync(0, "utf8").split("\n").filter((l) => l.trim())) {
  const object = JSON.parse(line);
  const name = `${object.kind}/${object.metadata?.name}`;
  const module = await import(pathToFileURL(join(root, `${object.kind}.js`)).href);
  try {
    new module[object.kind](object).validate();
    console.log(`ok ${name}`);
  } catch (error) {
    failed = true;
    console.log(`invalid ${name}: ${JSON.stringify(error.errors ?? String(error))}`);
  }
}
process.exit(failed ? 1 : 0);
