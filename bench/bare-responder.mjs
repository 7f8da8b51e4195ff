// The baseline: a bare node:https server that reads the body and returns a fixed AdmissionReview
// (with a typical patch) without parsing anything. Usage: node bare-responder.mjs CERT_DIR
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";

const dir = process.argv[2];
const patch = Buffer.from(JSON.stringify([{ op: "add", path: "/spec/containers/1", value: { name: "istio-proxy", image: "proxy" } }])).toString("base64");
const body = JSON.stringify({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  response: { uid: "fixed", allowed: true, patchType: "JSONPatch", patch },
});
const server = createServer({ key: readFileSync(join(dir, "tls.key")), cert: readFileSync(join(dir, "tls.crt")) }, (req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 90_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
