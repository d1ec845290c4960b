// Validates rendered Kubernetes manifests (multi-document YAML on stdin) against the
// Kubernetes OpenAPI schemas shipped in kubernetes-models. Exit 1 on the first invalid object.
import { parseAllDocuments } from "yaml";
import * as models from "kubernetes-models";

const groupModule = {
  "v1": models.v1, "apps/v1": models.apps.v1, "policy/v1": models.policy.v1,
  "autoscaling/v2": models.autoscaling.v2,
};
let input = "";
for await (const chunk of process.stdin) input += chunk;
let count = 0;
for (const doc of parseAllDocuments(input)) {
  const obj = doc.toJS();
  if (!obj) continue;
  const mod = groupModule[obj.apiVersion];
  const Kind = mod && mod[obj.kind];
  if (!Kind) { console.error(`no schema for ${obj.apiVersion} ${obj.kind}`); process.exit(1); }
  try {
    new Kind(obj).validate();
  } catch (e) {
    console.error(`${obj.kind}/${obj.metadata?.name}: ${e.message}`);
    process.exit(1);
  }
  count++;
}
if (count === 0) { console.error("no manifests on stdin"); process.exit(1); }
console.log(`k8s: ${count} objects valid`);
