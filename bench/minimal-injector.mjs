// The second baseline: a minimal hand-written injector on bare node:https. Per request it does
// what any injector must: reads the body, JSON.parse's the whole review, looks at the pod (kind,
// operation, status annotation, containers, ports, volumes, labels, owner), builds a JSON Patch by
// hand from pieces serialized once at startup and spliced with the pod's own values, and answers.
// It does less than the injector (no validation, no probe rewriting, no Prometheus merge, no
// logging or metrics), so it is the floor a careful implementation of the same wire work reaches.
//
// Its containers and volumes are the configuration's: taken once from the injector's recorded
// reply to the typical payload (CERT_DIR/typical.response.json), with the per-pod environment
// values cut out, so both send containers of the same size.
// Usage: node minimal-injector.mjs CERT_DIR
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";

const dir = process.argv[2];
const recorded = JSON.parse(readFileSync(join(dir, "typical.response.json"), "utf8"));
const ops = JSON.parse(Buffer.from(recorded.response.patch, "base64").toString("utf8"));
const proxy = ops.find((o) => o.op === "add" && o.value?.name === "istio-proxy").value;
const init = ops.find((o) => o.path === "/spec/initContainers").value[0];
const volumes = ops.filter((o) => /^\/spec\/volumes\/\d+$/.test(o.path)).map((o) => o.value);

// The proxy's per-pod env values become holes; everything else is text serialized once.
const PER_POD = ["ISTIO_META_POD_PORTS", "ISTIO_META_APP_CONTAINERS", "ISTIO_META_WORKLOAD_NAME", "ISTIO_META_OWNER"];
const HOLE = "\u0000hole\u0000";
const env = proxy.env.filter((e) => e.name !== "ISTIO_KUBE_APP_PROBERS" && e.name !== "ISTIO_PROMETHEUS_ANNOTATIONS");
const proxyParts = JSON.stringify({ ...proxy, env: env.map((e) => (PER_POD.includes(e.name) ? { name: e.name, value: HOLE } : e)) }).split(JSON.stringify(HOLE));
const initText = JSON.stringify(init);
const volumeTexts = volumes.map((v) => JSON.stringify(v));
const volumeNames = volumes.map((v) => v.name);
const status = JSON.stringify({ initContainers: ["istio-init"], containers: ["istio-proxy"], volumes: volumeNames, imagePullSecrets: null, revision: "default" });

function escapeKey(k) {
  return k.replaceAll("~", "~0").replaceAll("/", "~1");
}

function addToMap(out, base, existing, entries) {
  if (existing === undefined || existing === null) {
    out.push(`{"op":"add","path":"${base}","value":${JSON.stringify(Object.fromEntries(entries))}}`);
    return;
  }
  for (const [k, v] of entries) if (!(k in existing)) out.push(`{"op":"add","path":"${base}/${escapeKey(k)}","value":${JSON.stringify(v)}}`);
}

function workloadOf(pod) {
  const owner = (pod.metadata.ownerReferences ?? []).find((o) => o.controller);
  if (owner?.kind === "ReplicaSet") {
    const name = owner.name.replace(/-[a-z0-9]+$/, "");
    return { name, owner: `kubernetes://apis/apps/v1/namespaces/${pod.metadata.namespace}/deployments/${name}` };
  }
  const name = owner?.name ?? pod.metadata.name ?? pod.metadata.generateName ?? "";
  return { name, owner: `kubernetes://apis/v1/namespaces/${pod.metadata.namespace}/pods/${name}` };
}

function patchFor(pod) {
  const out = [];
  const meta = pod.metadata;
  const spec = pod.spec;
  const labels = meta.labels ?? {};
  const app = spec.containers[0].name;
  addToMap(out, "/metadata/labels", meta.labels, [
    ["security.istio.io/tlsMode", "istio"],
    ["service.istio.io/canonical-name", labels.app ?? workloadOf(pod).name],
    ["service.istio.io/canonical-revision", labels.version ?? "latest"],
  ]);
  addToMap(out, "/metadata/annotations", meta.annotations, [
    ["kubectl.kubernetes.io/default-container", app],
    ["kubectl.kubernetes.io/default-logs-container", app],
    ["istio.io/rev", "default"],
    ["sidecar.istio.io/status", status],
  ]);
  const ports = spec.containers.flatMap((c) => c.ports ?? []);
  const w = workloadOf(pod);
  const values = [JSON.stringify(JSON.stringify(ports)), JSON.stringify(spec.containers.map((c) => c.name).join(",")), JSON.stringify(w.name), JSON.stringify(w.owner)];
  let proxyText = proxyParts[0];
  for (let i = 0; i < values.length; i++) proxyText += values[i] + proxyParts[i + 1];
  out.push(`{"op":"add","path":"/spec/containers/${spec.containers.length}","value":${proxyText}}`);
  if (spec.initContainers === undefined) out.push(`{"op":"add","path":"/spec/initContainers","value":[${initText}]}`);
  else out.push(`{"op":"add","path":"/spec/initContainers/${spec.initContainers.length}","value":${initText}}`);
  if (spec.volumes === undefined) out.push(`{"op":"add","path":"/spec/volumes","value":[${volumeTexts.join(",")}]}`);
  else volumeTexts.forEach((v, i) => out.push(`{"op":"add","path":"/spec/volumes/${spec.volumes.length + i}","value":${v}}`));
  return `[${out.join(",")}]`;
}

function answer(review) {
  const req = review.request;
  const pod = req.object;
  const response = { uid: req.uid, allowed: true };
  if (req.kind.kind === "Pod" && req.operation === "CREATE" && pod?.metadata?.annotations?.["sidecar.istio.io/status"] === undefined) {
    response.patchType = "JSONPatch";
    response.patch = Buffer.from(patchFor(pod)).toString("base64");
  }
  return JSON.stringify({ apiVersion: review.apiVersion, kind: "AdmissionReview", response });
}

const server = createServer({ key: readFileSync(join(dir, "tls.key")), cert: readFileSync(join(dir, "tls.crt")) }, (req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let text;
    try {
      text = answer(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    } catch (err) {
      res.writeHead(400, { "Content-Type": "text/plain" });
      res.end(String(err));
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  });
});
server.keepAliveTimeout = 90_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
