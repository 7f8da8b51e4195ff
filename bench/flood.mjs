// npm run bench:flood: admission first. Two measurements, each against a baseline in the same run.
//
// 1. "admission p99 under a preview flood": the built injector (as the image starts it) serves
//    reviews sent at a steady rate (FLOOD_RATE reviews/s, open loop: each review is timed from the
//    moment it was due, on FLOOD_REVIEW_CONNECTIONS keep-alive connections) for FLOOD_SECONDS,
//    first alone (the baseline), then while FLOOD_CONNECTIONS connections post a manifest of
//    FLOOD_DOCS small Pods to /preview back to back, once asking for the default report (larger
//    than preview.maxRenderedBytes: rendered, then refused with 422) and once for output=patch
//    (16 MB answers sent). The flood runs in a child process of its own, so this process times
//    reviews undisturbed. A review not answered within 10 s (the webhook timeout) is a timeout.
// 2. "3,000-object preview time": CPU time of one preview of the same manifest, per output, on
//    this thread, against admission's own pipeline for the same pods (runInjection for each) and
//    against the yaml and diff packages writing the same objects' text and diffs (what the
//    preview spent its time on before).
//
// Env: FLOOD_SECONDS (20), FLOOD_RATE (50), FLOOD_CONNECTIONS (8), FLOOD_DOCS (3000),
// FLOOD_REVIEW_CONNECTIONS (2), FLOOD_ROWS (e.g. "alone,json,patch,preview").
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const ROOT = join(import.meta.dirname, "..");
const SECONDS = Number(process.env.FLOOD_SECONDS ?? 20);
const RATE = Number(process.env.FLOOD_RATE ?? 50);
const CONNECTIONS = Number(process.env.FLOOD_CONNECTIONS ?? 8);
const DOCS = Number(process.env.FLOOD_DOCS ?? 3000);
const REVIEW_CONNECTIONS = Number(process.env.FLOOD_REVIEW_CONNECTIONS ?? 2);
const ROWS = (process.env.FLOOD_ROWS ?? "alone,json,patch,preview").split(",");
const TIMEOUT_MS = 10_000;

/** DOCS small Pods, one YAML document each (about 95 bytes a Pod). */
export function manifest(n) {
  let text = "";
  for (let i = 0; i < n; i++) text += `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-${i}\nspec:\n  containers:\n  - name: web\n    image: nginx\n---\n`;
  return text;
}

function post(agent, port, ca, path, type, body) {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: "POST", ca, servername: "localhost", agent, headers: { "content-type": type, "content-length": Buffer.byteLength(body) } },
      (res) => {
        let bytes = 0;
        res.on("data", (c) => (bytes += c.length));
        res.on("end", () => resolve({ status: res.statusCode, bytes, retryAfter: res.headers["retry-after"] }));
        res.on("error", (err) => resolve({ status: 0, error: err.message }));
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, error: err.message }));
    req.end(body);
  });
}

// --- the flood, as a child process: node bench/flood.mjs --flood <port> <ca file> <seconds> <output>
if (process.argv[2] === "--flood") {
  const [port, caFile, seconds, output] = process.argv.slice(3);
  const ca = readFileSync(caFile);
  const body = manifest(DOCS);
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const until = performance.now() + Number(seconds) * 1000;
  const statuses = {};
  const errors = {};
  const path = output === "json" ? "/preview" : `/preview?output=${output}`;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const r = await post(agent, Number(port), ca, path, "application/yaml", body);
        if (r.status === 0) errors[r.error] = (errors[r.error] ?? 0) + 1;
        else statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }),
  );
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ statuses, errors })}\n`);
  process.exit(0);
}

function dockerNodeFlags() {
  const line = readFileSync(join(ROOT, "Dockerfile"), "utf8").split("\n").find((l) => l.startsWith("ENTRYPOINT "));
  const argv = JSON.parse(line.slice("ENTRYPOINT ".length));
  return argv.slice(1, argv.indexOf("dist/cli.js"));
}

async function startInjector(dir) {
  const log = join(dir, "injector.log");
  writeFileSync(join(dir, "config.yaml"), "{}\n");
  const child = spawn(process.execPath, [...dockerNodeFlags(), join(ROOT, "dist", "cli.js"), "serve", "--port", "0", "--cert-dir", join(dir, "certs"), "--config", join(dir, "config.yaml")], {
    stdio: ["ignore", openSync(log, "w"), "inherit"],
    env: { PATH: process.env.PATH, LOG_LEVEL: "info" },
  });
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const line = readFileSync(log, "utf8").split("\n").find((l) => l.includes('"sidecar-injector listening"'));
    if (line) return { child, port: JSON.parse(line).port, ca: readFileSync(join(dir, "certs", "ca.crt")) };
    if (child.exitCode !== null) throw new Error(readFileSync(log, "utf8"));
  }
}

function review(i) {
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: `web-${i}`, namespace: "shop", labels: { app: "web" }, annotations: { "bench/n": String(i) } }, spec: { containers: [{ name: "web", image: "nginx:1.27", ports: [{ containerPort: 8080 }] }] } };
  return JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: `uid-${i}`, kind: { group: "", version: "v1", kind: "Pod" }, resource: { group: "", version: "v1", resource: "pods" }, namespace: "shop", operation: "CREATE", object: pod } });
}

/** Reviews at RATE/s for SECONDS, open loop; latency from each review's due time. */
async function admission(s) {
  const agent = new Agent({ keepAlive: true, maxSockets: REVIEW_CONNECTIONS });
  // Warm the connections (their TLS handshakes are not part of a review's time).
  await Promise.all(Array.from({ length: REVIEW_CONNECTIONS }, (_, i) => post(agent, s.port, s.ca, "/inject", "application/json", review(-1 - i))));
  const start = performance.now();
  const total = Math.round(RATE * SECONDS);
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(post(agent, s.port, s.ca, "/inject", "application/json", review(i)).then((r) => ({ ...r, ms: performance.now() - due })));
  }
  const results = await Promise.all(pending);
  agent.destroy();
  const ok = results.filter((r) => r.status === 200);
  const ms = ok.map((r) => r.ms).sort((a, b) => a - b);
  const q = (p) => ms[Math.min(ms.length - 1, Math.ceil(ms.length * p) - 1)] ?? NaN;
  return {
    sent: total,
    answered: ok.length,
    errors: results.filter((r) => r.status !== 200 && r.error !== "timeout").length,
    timeouts: results.filter((r) => r.error === "timeout").length,
    p50: q(0.5),
    p99: q(0.99),
    max: ms[ms.length - 1] ?? NaN,
  };
}

async function floodRow(s, dir, output) {
  const caFile = join(dir, "certs", "ca.crt");
  const child = spawn(process.execPath, [join(import.meta.dirname, "flood.mjs"), "--flood", String(s.port), caFile, String(SECONDS + 1), output], { stdio: ["ignore", "pipe", "inherit"], env: process.env });
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  const exited = new Promise((r) => child.on("exit", r));
  await new Promise((r) => setTimeout(r, 1000)); // the worker and its queue fill first
  const result = await admission(s);
  await exited;
  return { ...result, flood: JSON.parse(out.trim().split("\n").pop()) };
}

const fmt = (n) => (Number.isFinite(n) ? n.toFixed(1) : "-");
function printAdmission(name, r) {
  const flood = r.flood ? ` | ${[...Object.entries(r.flood.statuses).map(([st, n]) => `${st}: ${n}`), ...Object.entries(r.flood.errors).map(([e, n]) => `no answer (${e}): ${n}`)].join(", ")}` : " | -";
  console.log(`| ${name} | ${r.answered}/${r.sent} | ${r.errors} | ${r.timeouts} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)}${flood} |`);
}

/** CPU ms of f on this thread (median of runs). */
function cpuMs(f, runs = 5) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = process.cpuUsage();
    f();
    const u = process.cpuUsage(t);
    times.push((u.user + u.system) / 1000);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

async function previewRows() {
  const { runPreviewJob } = await import(join(ROOT, "dist", "preview", "preview-job.js"));
  const { readDocuments } = await import(join(ROOT, "dist", "preview", "documents.js"));
  const { runInjection } = await import(join(ROOT, "dist", "injection", "pipeline.js"));
  const { compileTemplate } = await import(join(ROOT, "dist", "injection", "template.js"));
  const { DEFAULT_CONFIG } = await import(join(ROOT, "dist", "config", "config.js"));
  const { stringify } = await import("yaml");
  const { createTwoFilesPatch } = await import("diff");
  const text = manifest(DOCS);
  const body = Buffer.from(text);
  const ctx = { template: compileTemplate(DEFAULT_CONFIG), clusterSupportsNativeSidecars: undefined };
  const bounds = { maxDocuments: 1e9, maxObjectsPerDocument: 1e9, maxRenderedBytes: 1e12 };
  console.log(`\n${DOCS}-object preview (${(body.length / 1024).toFixed(0)} KB of YAML), CPU ms on one thread (median of 5):\n`);
  console.log("| what | CPU ms | per object (µs) | answer |");
  console.log("|---|---:|---:|---:|");
  const row = (name, ms, bytes) => console.log(`| ${name} | ${ms.toFixed(0)} | ${((ms * 1000) / DOCS).toFixed(0)} | ${bytes === undefined ? "-" : `${(bytes / 1e6).toFixed(1)} MB`} |`);
  for (const output of ["json", "yaml", "diff", "patch"]) {
    let bytes = 0;
    const ms = cpuMs(() => (bytes = Buffer.byteLength(runPreviewJob({ body, format: "yaml", output, params: {} }, ctx, bounds).body)));
    row(`preview, output=${output}${output === "json" ? " (default)" : ""}`, ms, bytes);
  }
  // With the shipped bounds the JSON report of this manifest is refused (413/422): how much of a worker that costs.
  const shipped = { maxDocuments: DEFAULT_CONFIG.preview.maxDocuments, maxObjectsPerDocument: DEFAULT_CONFIG.preview.maxObjectsPerDocument, maxRenderedBytes: DEFAULT_CONFIG.preview.maxRenderedBytes };
  let refusal = "";
  const refusedMs = cpuMs(() => {
    try {
      runPreviewJob({ body, format: "yaml", output: "json", params: {} }, ctx, shipped);
    } catch (err) {
      refusal = err.limit ?? err.message;
    }
  });
  row(`preview, output=json with the shipped bounds (refused: ${refusal || "not refused"})`, refusedMs);
  const objects = readDocuments(text, "yaml").flatMap((d) => d.objects.map((o) => o.object));
  row("baseline: parsing the manifest alone", cpuMs(() => readDocuments(text, "yaml")));
  const inject = (o) => runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "default", object: o }, ctx);
  row("baseline: admission's pipeline for the same pods", cpuMs(() => objects.forEach(inject)));
  const results = objects.map((o) => inject(o).mutated);
  row("baseline: the yaml and diff packages writing the same objects and diffs", cpuMs(() => objects.forEach((o, i) => createTwoFilesPatch("Pod/x", "Pod/x", stringify(o), stringify(results[i]), "given", "injected")), 3));
}

const dir = mkdtempSync(join(tmpdir(), "bench-flood-"));
try {
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), not pinned: the injector's two threads and the load share the cores`);
  if (ROWS.some((r) => r !== "preview")) {
    const s = await startInjector(dir);
    try {
      console.log(`\nadmission at ${RATE} reviews/s on ${REVIEW_CONNECTIONS} connections for ${SECONDS} s; flood: ${CONNECTIONS} connections posting ${DOCS} Pods (${(manifest(DOCS).length / 1024).toFixed(0)} KB) to /preview back to back\n`);
      console.log("| row | answered | errors | timeouts | p50 ms | p99 ms | max ms | flood answers (status: count) |");
      console.log("|---|---:|---:|---:|---:|---:|---:|---|");
      if (ROWS.includes("alone")) printAdmission("admission alone (baseline)", await admission(s));
      if (ROWS.includes("json")) printAdmission("admission p99 under a preview flood (default output: rendered, refused 422)", await floodRow(s, dir, "json"));
      if (ROWS.includes("patch")) printAdmission("admission p99 under a preview flood (output=patch: 16 MB answers sent)", await floodRow(s, dir, "patch"));
    } finally {
      s.child.kill("SIGTERM");
    }
  }
  if (ROWS.includes("preview")) await previewRows();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
