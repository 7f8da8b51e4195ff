// npm run bench:scale: the injector in a large cluster. For each cluster size (BENCH_SCALE_PODS,
// default 10000,50000,100000,150000) the in-process API server (test/support/fake-apiserver.ts) is
// loaded with realistic pods (bench/payloads.mjs' typical pod, about 5 KB of JSON with probes, env,
// volumes, managedFields and a status, owned by ReplicaSets of Deployments, over 20 namespaces,
// half of them enabled for injection), and the built injector runs against it as the shipped
// manifests run it:
//
// - the webhook (`serve --role webhook`, manifests/base/config.yaml): RSS after sync, and the
//   admission latency of new pods at 50 reviews/s while the reports replica answers GET /audit;
// - the reports replica (`serve --role reports`): time to sync, RSS after sync, the GET /audit
//   answer's time and size, peak RSS;
// - the CLI: `audit -o json`, `explain -A -o json` and the plan of `rollout -A -o json` (paged
//   lists), time and peak RSS;
// - the baseline, in the same run: the single-process layout the manifests shipped before
//   (`--role all` with auditEndpoint: true), its RSS after sync and under its own GET /audit, and
//   its admission latency meanwhile (BENCH_SCALE_BASELINE_MAX pods at most, default 50000: beyond
//   that it needs more heap than Node.js gives it by default).
//
// Prints a Markdown table and writes bench/results/scale-<time>.json.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { type FakeApiServer, Kinds, startFakeApiServer, writeKubeconfig } from "../../test/support/fake-apiserver.js";
import { DISTINCT_MARK, PAYLOADS } from "../payloads.mjs";

type Json = Record<string, any>;
const ROOT = join(import.meta.dirname, "..", "..", "..");
const CLI = join(ROOT, "dist", "cli.js");
const NODE_FLAGS = ["--max-semi-space-size=8"]; // the Dockerfile's
const SIZES = (process.env.BENCH_SCALE_PODS ?? "10000,50000,100000,150000").split(",").map(Number);
const BASELINE_MAX = Number(process.env.BENCH_SCALE_BASELINE_MAX ?? 50_000);
const NAMESPACES = 20;
const PODS_PER_DEPLOYMENT = 10;
const RATE = 50; // admission reviews per second
const REVIEW_TIMEOUT_MS = 10_000; // the webhook's timeoutSeconds
/** Who asks for the reports: a user the API server lets list pods cluster-wide (delegated auth). */
const VIEWER = { token: "bench-viewer-token", username: "bench-viewer", grants: [{ verb: "list", resource: "pods" }] };

const typicalReview = (PAYLOADS as Record<string, Json>).typical as Json;
const typicalPod = typicalReview.request.object as Json;

function realisticPod(ns: string, deployment: string, i: number): Json {
  const hash = `${deployment.length}f${(i % 7).toString(16)}9c6b5d`;
  const pod = structuredClone(typicalPod);
  delete pod.metadata.generateName;
  pod.metadata = {
    ...pod.metadata,
    name: `${deployment}-${hash}-${i.toString(36).padStart(5, "0")}`,
    namespace: ns,
    labels: { ...pod.metadata.labels, app: deployment, "pod-template-hash": hash },
    ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: `${deployment}-${hash}`, uid: `rs-${ns}-${deployment}`, controller: true, blockOwnerDeletion: true }],
  };
  pod.spec.nodeName = `node-${i % 300}`;
  pod.status = {
    phase: "Running",
    podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    hostIP: `192.168.${(i >> 8) & 255}.${i & 255}`,
    startTime: "2026-11-25T12:00:00Z",
    qosClass: "Burstable",
    conditions: ["Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({ type, status: "True", lastTransitionTime: "2026-11-25T12:00:05Z" })),
    containerStatuses: (pod.spec.containers as Json[]).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `registry.example/shop/${c.name}@sha256:${"ab".repeat(32)}`,
      containerID: `containerd://${"cd".repeat(32)}`,
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: "2026-11-25T12:00:03Z" } },
    })),
  };
  return pod;
}

function loadCluster(fake: FakeApiServer, pods: number): { bytesPerPod: number } {
  for (let n = 0; n < NAMESPACES; n++) {
    fake.put(Kinds.Namespace, { metadata: { name: `team-${n}`, labels: n % 2 === 0 ? { "istio-injection": "enabled" } : {} } });
  }
  const webhooks = parseYaml(readFileSync(join(ROOT, "manifests", "base", "webhook.yaml"), "utf8")) as Json;
  fake.put(Kinds.MutatingWebhookConfiguration, webhooks);
  let bytes = 0;
  for (let i = 0; i < pods; i++) {
    const ns = `team-${i % NAMESPACES}`;
    const d = Math.floor(i / (NAMESPACES * PODS_PER_DEPLOYMENT));
    const deployment = `svc-${d}`;
    const pod = realisticPod(ns, deployment, i);
    if (i < 5) bytes += JSON.stringify(pod).length;
    fake.put(Kinds.Pod, pod);
    if (i % (NAMESPACES * PODS_PER_DEPLOYMENT) < NAMESPACES) {
      const hash = (pod.metadata.labels as Json)["pod-template-hash"] as string;
      const template = { metadata: { labels: { app: deployment } }, spec: structuredClone(typicalPod.spec) };
      fake.put(Kinds.Deployment, { metadata: { name: deployment, namespace: ns, uid: `d-${ns}-${deployment}` }, spec: { replicas: PODS_PER_DEPLOYMENT, selector: { matchLabels: { app: deployment } }, template } });
      fake.put(Kinds.ReplicaSet, {
        metadata: { name: `${deployment}-${hash}`, namespace: ns, uid: `rs-${ns}-${deployment}`, labels: { app: deployment, "pod-template-hash": hash }, ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: deployment, uid: `d-${ns}-${deployment}`, controller: true }] },
        spec: { replicas: PODS_PER_DEPLOYMENT, selector: { matchLabels: { app: deployment, "pod-template-hash": hash } }, template: { ...template, metadata: { labels: { app: deployment, "pod-template-hash": hash } } } },
      });
    }
  }
  return { bytesPerPod: Math.round(bytes / 5) };
}

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  readonly ca: string;
  readonly log: () => string;
}

async function startServer(args: string[], env: Record<string, string>, dir: string): Promise<Server> {
  const certDir = join(dir, "certs");
  const child = spawn(process.execPath, [...NODE_FLAGS, CLI, "serve", "--port", "0", "--cert-dir", certDir, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "", ...env } });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const line = out.split("\n").find((l) => l.includes('"sidecar-injector listening"'));
      if (line) {
        clearInterval(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`server exited early:\n${out}`));
      }
    }, 50);
  });
  return { child, port, ca: readFileSync(join(certDir, "ca.crt"), "utf8"), log: () => out };
}

function memoryOf(pid: number | undefined): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rssMiB: Math.round(kb("VmRSS") / 1024), peakMiB: Math.round(kb("VmHWM") / 1024) };
}

function call(s: Server, method: string, path: string, body?: string, agent?: Agent): Promise<{ status: number; body: string; ms: number }> {
  const auth = method === "GET" ? { Authorization: `Bearer ${VIEWER.token}` } : {};
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: s.port, path, method, ca: s.ca, servername: "localhost", agent: agent ?? false, headers: body === undefined ? auth : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - started }));
      },
    );
    req.setTimeout(REVIEW_TIMEOUT_MS * 30, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Admission of new pods at RATE reviews/s on two keep-alive connections until `until` settles. */
async function admissionDuring(s: Server, until: Promise<unknown>): Promise<{ sent: number; errors: number; timeouts: number; p50: number; p99: number; max: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2, ca: s.ca, servername: "localhost" });
  const body = JSON.stringify(typicalReview);
  const latencies: number[] = [];
  let errors = 0;
  let timeouts = 0;
  let sent = 0;
  let done = false;
  void until.finally(() => (done = true));
  const inflight: Array<Promise<void>> = [];
  const start = performance.now();
  while (!done || performance.now() - start < 2000) {
    const n = sent++;
    inflight.push(
      (async () => {
        const t0 = performance.now();
        try {
          const res = await Promise.race([
            call(s, "POST", "/inject", body.replace(DISTINCT_MARK, `${DISTINCT_MARK}scale-${n}-`), agent),
            sleep(REVIEW_TIMEOUT_MS).then(() => null),
          ]);
          if (res === null) timeouts++;
          else if (res.status !== 200 || !res.body.includes('"allowed":true')) errors++;
          else latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      })(),
    );
    const next = start + (sent * 1000) / RATE;
    await sleep(Math.max(0, next - performance.now()));
  }
  await Promise.all(inflight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 10) / 10;
  return { sent, errors, timeouts, p50: q(0.5), p99: q(0.99), max: q(1) };
}

async function waitForAudit(s: Server): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const res = await call(s, "GET", "/audit?output=table").catch(() => ({ status: 0, body: "", ms: 0 }));
    if (res.status === 200) return performance.now() - t0;
    if (s.child.exitCode !== null) throw new Error(`server exited:\n${s.log().slice(-2000)}`);
    await sleep(500);
  }
}

function runCli(args: string[], env: Record<string, string>): Promise<{ seconds: number; peakMiB: number; code: number | null; bytes: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, "--import", join(import.meta.dirname, "maxrss.mjs"), CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "", ...env } });
  let bytes = 0;
  let err = "";
  child.stdout?.on("data", (c: Buffer) => (bytes += c.length));
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      const kb = Number(/MAXRSS_KB (\d+)/.exec(err)?.[1] ?? 0);
      if (code !== 0 && code !== 3) process.stderr.write(`CLI ${args.join(" ")} exited ${code}:\n${err.slice(-2000)}\n`);
      resolve({ seconds: Math.round((performance.now() - t0) / 100) / 10, peakMiB: Math.round(kb / 1024), code, bytes });
    }),
  );
}

function manifestsConfig(dir: string, extra: Json = {}): string {
  const cm = parseYaml(readFileSync(join(ROOT, "manifests", "base", "config.yaml"), "utf8")) as Json;
  const config = parseYaml(cm.data["config.yaml"] as string) as Json;
  // TLS local on this machine (the cluster's self-managed Secret is not what is measured here).
  const merged = { ...config, tls: { ...config.tls, mode: "local" }, server: { ...config.server, metricsPort: null }, ...extra };
  const path = join(dir, `config-${Object.keys(extra).join("-") || "shipped"}.json`);
  writeFileSync(path, JSON.stringify(merged));
  return path;
}

async function measureSize(pods: number): Promise<Json> {
  const dir = mkdtempSync(join(tmpdir(), "bench-scale-"));
  const fake = await startFakeApiServer({ version: { major: "1", minor: "32", gitVersion: "v1.32.0" }, users: [VIEWER] });
  const t0 = performance.now();
  const { bytesPerPod } = loadCluster(fake, pods);
  process.stderr.write(`[${pods}] cluster loaded in ${Math.round(performance.now() - t0)} ms (${bytesPerPod} B of JSON per pod)\n`);
  const kubeconfig = writeKubeconfig(join(dir, "kubeconfig"), fake.url, "bench");
  const env = { KUBECONFIG: kubeconfig, POD_NAMESPACE: "sidecar-injector" };
  const row: Json = { pods, bytesPerPod };
  try {
    // The shipped layout: the webhook and the reports replica, apart.
    const config = manifestsConfig(dir);
    const webhook = await startServer(["--role", "webhook", "--config", config], env, join(dir, "webhook"));
    const reports = await startServer(["--role", "reports", "--config", config], env, join(dir, "reports"));
    const syncMs = await waitForAudit(reports);
    await sleep(2000);
    row.webhookAfterSync = memoryOf(webhook.child.pid);
    row.reportsSyncSeconds = Math.round(syncMs / 100) / 10;
    row.reportsAfterSync = memoryOf(reports.child.pid);
    const audit = call(reports, "GET", "/audit");
    row.admissionDuringAudit = await admissionDuring(webhook, audit);
    const answer = await audit;
    row.reportsAudit = { status: answer.status, seconds: Math.round(answer.ms / 100) / 10, mib: Math.round((answer.body.length / 1048576) * 10) / 10 };
    row.webhookPeak = memoryOf(webhook.child.pid);
    row.reportsPeak = memoryOf(reports.child.pid);
    webhook.child.kill("SIGKILL");
    reports.child.kill("SIGKILL");
    process.stderr.write(`[${pods}] shipped layout: ${JSON.stringify(row)}\n`);

    // The CLI, paged, with the caller's credentials.
    row.cliAudit = await runCli(["audit", "-o", "json"], env);
    row.cliExplain = await runCli(["explain", "-A", "-o", "json"], env);
    row.cliRollout = await runCli(["rollout", "-A", "-o", "json"], env);
    process.stderr.write(`[${pods}] CLI: audit ${JSON.stringify(row.cliAudit)} explain ${JSON.stringify(row.cliExplain)} rollout plan ${JSON.stringify(row.cliRollout)}\n`);

    // Baseline: one process for both (the layout shipped before the roles).
    if (pods <= BASELINE_MAX) {
      const both = await startServer(["--role", "all", "--config", manifestsConfig(dir, { auditEndpoint: true })], env, join(dir, "all"));
      await waitForAudit(both);
      await sleep(2000);
      const afterSync = memoryOf(both.child.pid);
      const auditAll = call(both, "GET", "/audit");
      const admission = await admissionDuring(both, auditAll);
      const answerAll = await auditAll;
      row.baseline = { afterSync, admissionDuringAudit: admission, auditSeconds: Math.round(answerAll.ms / 100) / 10, peak: memoryOf(both.child.pid) };
      both.child.kill("SIGKILL");
      process.stderr.write(`[${pods}] baseline: ${JSON.stringify(row.baseline)}\n`);
    }
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return row;
}

function table(rows: Json[]): string {
  const lines = [
    "| pods | webhook RSS after sync / peak (MiB) | admission p50 / p99 / max (ms) at 50/s during GET /audit, errors+timeouts | reports: sync (s), RSS after sync / peak (MiB), GET /audit (s, MiB) | `audit -o json` (s, peak MiB) | `explain -A -o json` (s, peak MiB) | `rollout -A -o json`, the plan (s, peak MiB) | baseline `--role all`: RSS after sync / peak (MiB), admission p99 / max (ms) during its own /audit |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const a = r.admissionDuringAudit;
    const b = r.baseline;
    lines.push(
      `| ${r.pods.toLocaleString("en")} | ${r.webhookAfterSync.rssMiB} / ${r.webhookPeak.peakMiB} | ${a.p50} / ${a.p99} / ${a.max}, ${a.errors + a.timeouts} of ${a.sent} | ${r.reportsSyncSeconds}, ${r.reportsAfterSync.rssMiB} / ${r.reportsPeak.peakMiB}, ${r.reportsAudit.seconds} s, ${r.reportsAudit.mib} MiB | ${r.cliAudit.seconds}, ${r.cliAudit.peakMiB} | ${r.cliExplain.seconds}, ${r.cliExplain.peakMiB} | ${r.cliRollout.seconds}, ${r.cliRollout.peakMiB} | ${b ? `${b.afterSync.rssMiB} / ${b.peak.peakMiB}, ${b.admissionDuringAudit.p99} / ${b.admissionDuringAudit.max} (${b.admissionDuringAudit.errors + b.admissionDuringAudit.timeouts} of ${b.admissionDuringAudit.sent} failed)` : "not run"} |`,
    );
  }
  return lines.join("\n");
}

const rows: Json[] = [];
for (const pods of SIZES) rows.push(await measureSize(pods));
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}`;
const out = `${table(rows)}\n\n${new Date().toISOString().slice(0, 10)}, ${machine}.\n`;
process.stdout.write(out);
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", `scale-${new Date().toISOString().replace(/[:.]/g, "-")}.json`), JSON.stringify({ machine, rows }, null, 2));
