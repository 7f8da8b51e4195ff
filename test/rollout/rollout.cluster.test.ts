/**
 * `sidecar-injector rollout` against a cluster: the built CLI as a child process, through the real
 * client-node, against the in-process API server with RBAC from src/kube/api-calls.ts and its
 * workload controllers (test/support/fake-controllers.ts). The controllers' `admit` plays the
 * webhook: nothing at first (workloads created before the webhook), then an older configuration,
 * then the current one. The story of README's "After an upgrade": the plan (goldens, nothing
 * changed), a run that stops on a workload whose new pods never become ready, the fix, the second
 * run, a new proxy image, -A with --max-in-flight 2, and a forbidden patch.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fjp from "fast-json-patch";
import type { InjectionContext } from "../../src/injection/pipeline.js";
import { runInjection } from "../../src/injection/pipeline.js";
import { testContext } from "../support/builders.js";
import { type FakeApiServer, Kinds, startFakeApiServer, writeKubeconfig } from "../support/fake-apiserver.js";
import { type FakeControllers, startControllers } from "../support/fake-controllers.js";
import { CLI, assertBuilt } from "../support/injector-process.js";

type Json = Record<string, unknown>;

const DIR = join(import.meta.dirname, "testdata");
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const OLD_IMAGE = "registry.example/proxyv2:1.0.0";
const NEW_IMAGE = "registry.example/proxyv2:9.9.9";
const current = testContext();
const old = testContext({ sidecar: { image: OLD_IMAGE } });
const upgraded = testContext({ sidecar: { image: NEW_IMAGE } });

let work: string;
let kubeconfig: string;
let noPatchKubeconfig: string;
let fake: FakeApiServer;
let controllers: FakeControllers;
/** The webhook's configuration of the moment; null: no webhook yet. */
let webhook: InjectionContext | null = null;
/** Pods of deployment/cart made by a restart never become ready while this holds (a bad image). */
let cartBroken = true;

function admit(pod: Json, namespace: string): Json {
  if (webhook === null) return pod;
  const result = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace, object: pod }, webhook);
  return fjp.applyPatch(structuredClone(pod), structuredClone(result.patch) as fjp.Operation[], true, false).newDocument as Json;
}

function ready(pod: Json): boolean {
  const m = pod.metadata as { labels?: Record<string, string>; annotations?: Record<string, string> };
  return !(cartBroken && m.labels?.app === "cart" && m.annotations?.["kubectl.kubernetes.io/restartedAt"] !== undefined);
}

const container = (name: string) => ({ name, image: `registry.example/${name}:1.2.3`, ports: [{ containerPort: 8080 }] });
const template = (app: string, extra: Json = {}) => ({ metadata: { labels: { app, ...((extra.labels as Json | undefined) ?? {}) } }, spec: { containers: [container(app)] } });

function deployment(namespace: string, name: string, replicas: number, extra: { labels?: Json; spec?: Json } = {}): Json {
  return { metadata: { name, namespace }, spec: { replicas, selector: { matchLabels: { app: name } }, template: template(name, extra), ...extra.spec } };
}

function namespace(name: string, labels: Json = { "istio-injection": "enabled" }): Json {
  return { metadata: { name, labels: { "kubernetes.io/metadata.name": name, ...labels } } };
}

/** Forbid PATCH to the user "no-patch", as RBAC without the patch verb would. */
function forbidPatch(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "PATCH" || !(req.headers.authorization ?? "").endsWith("no-patch")) return false;
  const m = /namespaces\/([^/]+)\/deployments\/([^/?]+)/.exec(req.url ?? "");
  res.writeHead(403, { "Content-Type": "application/json" });
  res.end(
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "Forbidden",
      code: 403,
      message: `deployments.apps "${m?.[2]}" is forbidden: User "dev@example.com" cannot patch resource "deployments" in API group "apps" in the namespace "${m?.[1]}"`,
    }),
  );
  return true;
}

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "rollout-"));
  fake = await startFakeApiServer({ rbac: { namespace: "sidecar-injector", secret: "sidecar-injector-certs", webhookConfig: "sidecar-injector" }, intercept: forbidPatch });
  kubeconfig = writeKubeconfig(join(work, "kubeconfig"), fake.url, "admin");
  noPatchKubeconfig = writeKubeconfig(join(work, "kubeconfig-no-patch"), fake.url, "no-patch");
  writeFileSync(join(work, "upgrade.yaml"), `sidecar:\n  image: ${NEW_IMAGE}\n`);
  controllers = startControllers(fake, { admit, ready });

  // Created before the webhook: no sidecars.
  fake.put(Kinds.Namespace, namespace("shop"));
  fake.put(Kinds.Namespace, namespace("quiet", {}));
  for (const d of [
    deployment("shop", "web", 2),
    deployment("shop", "cart", 2, { spec: { progressDeadlineSeconds: 2 } }),
    deployment("shop", "legacy", 1, { labels: { "sidecar.istio.io/inject": "false" } }),
    deployment("shop", "frozen", 1),
    deployment("shop", "guarded", 2),
    deployment("quiet", "tool", 1),
  ]) {
    fake.put(Kinds.Deployment, d);
  }
  fake.put(Kinds.StatefulSet, { metadata: { name: "db", namespace: "shop" }, spec: { replicas: 3, serviceName: "db", selector: { matchLabels: { app: "db" } }, template: template("db") } });
  fake.put(Kinds.DaemonSet, { metadata: { name: "agent", namespace: "shop" }, spec: { selector: { matchLabels: { app: "agent" } }, template: template("agent") } });
  fake.put(Kinds.Job, { metadata: { name: "nightly-1", namespace: "shop", uid: "job-uid" }, spec: { template: template("nightly") } });
  fake.put(Kinds.Pod, { metadata: { name: "nightly-1-abcde", namespace: "shop", labels: { app: "nightly" }, ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "nightly-1", uid: "job-uid", controller: true }] }, spec: { containers: [container("nightly")] }, status: { phase: "Running" } });
  fake.put(Kinds.Pod, { metadata: { name: "debug", namespace: "shop", labels: { app: "debug" } }, spec: { containers: [container("debug")] }, status: { phase: "Running" } });
  fake.put(Kinds.PodDisruptionBudget, { metadata: { name: "guarded", namespace: "shop" }, spec: { minAvailable: 2, selector: { matchLabels: { app: "guarded" } } }, status: { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 } });
  controllers.settle();
  // Paused after its pods came up.
  const frozen = fake.get(Kinds.Deployment, "frozen", "shop") as Json;
  fake.put(Kinds.Deployment, { ...frozen, spec: { ...(frozen.spec as Json), paused: true } });
  // Then the webhook, with an older proxy image: api's pods carry a stale sidecar.
  webhook = old;
  fake.put(Kinds.Deployment, deployment("shop", "api", 2));
  controllers.settle();
  // And now the current configuration.
  webhook = current;
  controllers.start();
});

afterAll(async () => {
  controllers?.stop();
  await fake?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI as a child process (asynchronously: the API server answers from this process). */
function rollout(args: readonly string[], config = kubeconfig): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "rollout", ...args], { cwd: work, env: { PATH: process.env.PATH ?? "", KUBECONFIG: config } }, (err, stdout, stderr) => {
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function golden(name: string, actual: string): void {
  const stable = actual
    .replaceAll(current.template.hash, "$CURRENT_TEMPLATE_HASH")
    .replaceAll(old.template.hash, "$OLD_TEMPLATE_HASH")
    .replaceAll(current.template.config.sidecar.image, "$CURRENT_IMAGE");
  const path = join(DIR, name);
  if (UPDATE) writeFileSync(path, stable);
  else if (!existsSync(path)) throw new Error(`missing golden ${path}; run UPDATE_GOLDEN=1 npm run test:golden`);
  expect(stable).toBe(readFileSync(path, "utf8"));
}

const podsOf = (ns: string, app: string) => fake.list(Kinds.Pod, ns).filter((p) => (p.metadata as { labels?: Json }).labels?.app === app);
const proxyImages = (ns: string, app: string) =>
  podsOf(ns, app).map((p) => {
    const spec = p.spec as { containers?: Json[]; initContainers?: Json[] };
    return [...(spec.containers ?? []), ...(spec.initContainers ?? [])].find((c) => c.name === "istio-proxy")?.image ?? "none";
  });
const versions = (): Json =>
  Object.fromEntries(
    (["Deployment", "StatefulSet", "DaemonSet", "Pod"] as const).flatMap((k) =>
      fake.list(Kinds[k]).map((o) => {
        const m = o.metadata as Json;
        return [`${k}/${String(m.namespace)}/${String(m.name)}`, `${String(m.resourceVersion)} ${String(m.generation)}`];
      }),
    ),
  );
function restartedAt(kind: "Deployment" | "StatefulSet" | "DaemonSet", ns: string, name: string): unknown {
  const spec = (fake.get(Kinds[kind], name, ns) as Json).spec as { template: { metadata?: { annotations?: Json } } };
  return spec.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"];
}
const patches = () => fake.requests.filter((r) => r.startsWith("PATCH "));

describe("rollout", () => {
  it("plans without --yes and changes nothing: goldens for the table and the JSON", async () => {
    const before = versions();
    const table = await rollout(["-n", "shop"]);
    expect(table.stderr).toBe("");
    expect(table.status).toBe(0);
    golden("shop.plan.txt", table.stdout);
    const json = await rollout(["-n", "shop", "-o", "json"]);
    expect(json.status).toBe(0);
    golden("shop.plan.json", json.stdout);
    const plan = JSON.parse(json.stdout) as { restarts: Array<{ object: string }>; untouched: Array<{ object: string; reason: string }> };
    expect(plan.restarts.map((r) => r.object)).toEqual(["Deployment/shop/api", "Deployment/shop/cart", "Deployment/shop/web", "StatefulSet/shop/db", "DaemonSet/shop/agent"]);
    expect(Object.fromEntries(plan.untouched.map((u) => [u.object, u.reason]))).toEqual({
      "Deployment/shop/frozen": "paused",
      "Deployment/shop/guarded": "disruption_budget",
      "Deployment/shop/legacy": "opted_out",
      "Job/shop/nightly-1": "not_restartable",
      "Pod/shop/debug": "bare_pod",
    });
    // Nothing written: no PATCH, every object at its resourceVersion (so at its generation).
    expect(patches()).toEqual([]);
    expect(versions()).toEqual(before);
    expect(fake.denied).toEqual([]);
  });

  it("a restart whose new pods never become ready: stops with exit 3, starts nothing else, names the undo", async () => {
    const r = await rollout(["-n", "shop", "--yes", "--timeout", "60s"]);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain("FAILED: Deployment/shop/cart: deployment \"cart\" exceeded its progress deadline");
    expect(r.stdout).toContain("undo: kubectl rollout undo deployment/cart -n shop");
    expect(r.stdout).toMatch(/Deployment\/shop\/api\s+done/);
    for (const object of ["Deployment/shop/web", "StatefulSet/shop/db", "DaemonSet/shop/agent"]) expect(r.stdout).toMatch(new RegExp(`${object}\\s+not_started`));
    // api was restarted, cart too; nothing after the failure.
    expect(restartedAt("Deployment", "shop", "api")).toBeDefined();
    expect(restartedAt("Deployment", "shop", "cart")).toBeDefined();
    expect(restartedAt("Deployment", "shop", "web")).toBeUndefined();
    expect(restartedAt("StatefulSet", "shop", "db")).toBeUndefined();
    expect(restartedAt("DaemonSet", "shop", "agent")).toBeUndefined();
    // The Deployment kept its old pods serving while the new one is not ready.
    expect(podsOf("shop", "cart").filter((p) => ((p.status as Json).conditions as Json[] | undefined)?.[0]?.status === "True").length).toBe(2);
    expect(proxyImages("shop", "api")).toEqual([current.template.config.sidecar.image, current.template.config.sidecar.image]);
    // The patch is kubectl rollout restart's, byte for byte: a strategic merge patch of the template's annotation.
    expect(fake.writes.filter((w) => w.method === "PATCH").map((w) => w.path)).toEqual(["/apis/apps/v1/namespaces/shop/deployments/api", "/apis/apps/v1/namespaces/shop/deployments/cart"]);
    for (const w of fake.writes.filter((x) => x.method === "PATCH")) {
      expect(w.contentType).toBe("application/strategic-merge-patch+json");
      expect(w.body).toMatch(/^\{"spec":\{"template":\{"metadata":\{"annotations":\{"kubectl\.kubernetes\.io\/restartedAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}\}\}\}\}$/);
    }
    expect(fake.denied).toEqual([]);
  }, 120_000);

  it("after the fix, the second run continues with what is still out of date and exits 0", async () => {
    cartBroken = false;
    await waitFor(() => controllers.inFlight().length === 0);
    const plan = JSON.parse((await rollout(["-n", "shop", "-o", "json"])).stdout) as { restarts: Array<{ object: string }> };
    expect(plan.restarts.map((r) => r.object)).toEqual(["Deployment/shop/web", "StatefulSet/shop/db", "DaemonSet/shop/agent"]);
    const r = await rollout(["-n", "shop", "--yes", "--timeout", "60s"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const image = current.template.config.sidecar.image;
    for (const app of ["api", "cart", "web", "db", "agent"]) {
      expect(proxyImages("shop", app).length).toBeGreaterThan(0);
      expect(proxyImages("shop", app).every((i) => i === image)).toBe(true);
    }
    // Opted-out, paused, PDB-guarded, bare and Job pods untouched.
    for (const app of ["legacy", "frozen", "guarded", "debug", "nightly"]) expect(proxyImages("shop", app).every((i) => i === "none")).toBe(true);
    expect(restartedAt("Deployment", "shop", "legacy")).toBeUndefined();
    expect(restartedAt("Deployment", "shop", "frozen")).toBeUndefined();
    expect(restartedAt("Deployment", "shop", "guarded")).toBeUndefined();
    // A third run has nothing to do.
    const again = await rollout(["-n", "shop", "--yes"]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain("Nothing to restart");
  }, 120_000);

  it("a new proxy image in --config: every restartable workload's pods move to it", async () => {
    webhook = upgraded;
    const r = await rollout(["-n", "shop", "--yes", "--config", "upgrade.yaml", "--max-in-flight", "2", "-o", "json"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { mode: string; results: Array<{ object: string; outcome: string }> };
    expect(out.mode).toBe("run");
    expect(out.results.map((x) => [x.object, x.outcome])).toEqual(
      ["Deployment/shop/api", "Deployment/shop/cart", "Deployment/shop/web", "StatefulSet/shop/db", "DaemonSet/shop/agent"].map((o) => [o, "done"]),
    );
    for (const app of ["api", "cart", "web", "db", "agent"]) expect(new Set(proxyImages("shop", app))).toEqual(new Set([NEW_IMAGE]));
  }, 120_000);

  it("-A with --max-in-flight 2: never more than two workloads mid-rollout at once", async () => {
    webhook = null;
    for (const ns of ["team-a", "team-b"]) {
      fake.put(Kinds.Namespace, namespace(ns));
      for (const name of ["one", "two", "three"]) fake.put(Kinds.Deployment, deployment(ns, name, 2));
    }
    await waitFor(() => controllers.inFlight().length === 0 && podsOf("team-b", "three").length === 2);
    webhook = upgraded;
    controllers.resetInFlight();
    const r = await rollout(["-A", "--yes", "--config", "upgrade.yaml", "--max-in-flight", "2"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(controllers.maxInFlight).toBeGreaterThan(0);
    expect(controllers.maxInFlight).toBeLessThanOrEqual(2);
    for (const ns of ["team-a", "team-b"]) for (const app of ["one", "two", "three"]) expect(new Set(proxyImages(ns, app))).toEqual(new Set([NEW_IMAGE]));
    expect(r.stdout).toMatch(/RESULT: 6 workloads done, 0 failed/);
  }, 120_000);

  it("a forbidden patch: exit 1 naming the verb and the resource refused", async () => {
    webhook = null;
    fake.put(Kinds.Namespace, namespace("team-c"));
    fake.put(Kinds.Deployment, deployment("team-c", "locked", 1));
    await waitFor(() => controllers.inFlight().length === 0 && podsOf("team-c", "locked").length === 1);
    webhook = current;
    const r = await rollout(["-n", "team-c", "--yes"], noPatchKubeconfig);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("patch deployments.apps team-c/locked failed (HTTP 403)");
    expect(r.stderr).toContain('cannot patch resource "deployments" in API group "apps"');
    expect(restartedAt("Deployment", "team-c", "locked")).toBeUndefined();
  }, 60_000);

  it("a workload that is not there is not found (exit 1); a kind it cannot restart is a usage error (exit 2)", async () => {
    const missing = await rollout(["deployment/nope", "-n", "shop"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("deployment nope not found in namespace shop");
    const job = await rollout(["job/nightly-1", "-n", "shop"]);
    expect(job.status).toBe(2);
    expect(job.stderr).toContain("rollout restarts a deployment, statefulset or daemonset");
  });
});

async function waitFor(check: () => boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error("the fake controllers did not settle");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
