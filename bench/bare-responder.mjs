// The baseline: a bare node:https server that reads the body and returns a fixed AdmissionReview
// without parsing anything. `/inject?payload=NAME` answers with CERT_DIR/NAME.response.json (the
// injector's recorded answer to that payload, so both servers send the same bytes back); any
// other URL gets a minimal review with a one-operation patch.
// Usage: node bare-responder.mjs CERT_DIR
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";

const dir = process.argv[2];
const patch = Buffer.from(JSON.stringify([{ op: "add", path: "/spec/containers/1", value: { name: "istio-proxy", image: "proxy" } }])).toString("base64");
const minimal = Buffer.from(
  JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "fixed", allowed: true, patchType: "JSONPatch", patch } }),
);
const recorded = new Map(
  readdirSync(dir)
    .filter((f) => f.endsWith(".response.json"))
    .map((f) => [`/inject?payload=${f.slice(0, -".response.json".length)}`, readFileSync(join(dir, f))]),
);
const server = createServer({ key: readFileSync(join(dir, "tls.key")), cert: readFileSync(join(dir, "tls.crt")) }, (req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    const body = recorded.get(req.url) ?? minimal;
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 90_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
