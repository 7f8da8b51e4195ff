/**
 * `sidecar-injector explain` against a cluster: the built CLI as a child process, reading the
 * in-process API server through the real client-node, on a cluster in the middle of a migration
 * from istiod (testdata/cluster.yaml, plus our own webhook configuration from the manifests).
 * Golden outputs (table and JSON; UPDATE_GOLDEN=1 rewrites them), then named cases for each
 * answer the issue asks for, exit codes, and a webhook configuration list that is forbidden.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fjp from "fast-json-patch";
import { parseAllDocuments } from "yaml";
import type { ExplainReport, ExplainedObject } from "../../src/explain/cluster.js";
import { runInjection } from "../../src/injection/pipeline.js";
import { generateCA } from "../../src/tls/certificates.js";
import { testContext } from "../support/builders.js";
import { type FakeApiServer, Kinds, startFakeApiServer, writeKubeconfig } from "../support/fake-apiserver.js";
import { CLI, assertBuilt } from "../support/injector-process.js";

const DIR = join(import.meta.dirname, "testdata");
const ROOT = join(import.meta.dirname, "..", "..");
const UPDATE = process.env.UPDATE_GOLDEN === "1";
/** The test's marker: inject this pod with the current configuration (or a stale one) before storing it. */
const INJECT_MARK = "test.sidecar-injector.io/inject";
const STALE_HASH = "0123456789ab";

type Json = Record<string, unknown>;

let work: string;
let kubeconfig: string;
let forbiddenKubeconfig: string;
let caPath: string;
let otherCaPath: string;
let fake: FakeApiServer;
/** The context the CLI computes with: the embedded configuration on a cluster with native sidecars (1.32). */
const context = testContext(undefined, true);

/** The cluster's objects: the fixture, injected where marked, and our webhook configuration with caBundle set. */
function clusterObjects(caPem: string): Json[] {
  const fixture = parseAllDocuments(readFileSync(join(DIR, "cluster.yaml"), "utf8")).map((d) => d.toJSON() as Json);
  const ours = parseAllDocuments(readFileSync(join(ROOT, "manifests", "base", "webhook.yaml"), "utf8")).map((d) => d.toJSON() as Json)[0] as Json;
  const caBundle = Buffer.from(caPem).toString("base64");
  const webhooks = (ours.webhooks as Json[]).map((w) => ({ ...w, clientConfig: { ...(w.clientConfig as Json), caBundle } }));
  return [...fixture.map(injectIfMarked), { ...ours, webhooks }];
}

function injectIfMarked(o: Json): Json {
  const meta = (o.metadata ?? {}) as Json;
  const annotations = (meta.annotations ?? {}) as Record<string, string>;
  const mark = annotations[INJECT_MARK];
  if (mark === undefined) return o;
  const { [INJECT_MARK]: _mark, ...rest } = annotations;
  const pod = { ...o, metadata: { ...meta, annotations: rest } };
  const result = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: String(meta.namespace), object: pod }, context);
  const injected = fjp.applyPatch(structuredClone(pod), structuredClone(result.patch) as fjp.Operation[], true, false).newDocument as Json;
  if (mark !== "stale") return injected;
  (injected.metadata as { annotations: Record<string, string> }).annotations["sidecar-injector.io/template-hash"] = STALE_HASH;
  return injected;
}

/** 403 for the webhook configurations, as for a user with namespace rights only. */
function forbidWebhookConfigs(req: IncomingMessage, res: ServerResponse): boolean {
  if (!(req.url ?? "").startsWith("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations") || !(req.headers.authorization ?? "").endsWith("namespace-user")) return false;
  res.writeHead(403, { "Content-Type": "application/json" });
  res.end(
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "Forbidden",
      code: 403,
      message: 'mutatingwebhookconfigurations.admissionregistration.k8s.io is forbidden: User "dev@example.com" cannot list resource "mutatingwebhookconfigurations" in API group "admissionregistration.k8s.io" at the cluster scope',
    }),
  );
  return true;
}

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "explain-"));
  const now = new Date();
  const ca = await generateCA({ commonName: "sidecar-injector-ca", days: 30, now });
  const other = await generateCA({ commonName: "another-ca", days: 30, now });
  caPath = join(work, "ca.crt");
  otherCaPath = join(work, "other-ca.crt");
  writeFileSync(caPath, ca.cert);
  writeFileSync(otherCaPath, other.cert);
  fake = await startFakeApiServer({ version: { major: "1", minor: "32", gitVersion: "v1.32.0" }, intercept: forbidWebhookConfigs });
  for (const o of clusterObjects(ca.cert)) fake.put(Kinds[o.kind as keyof typeof Kinds], o);
  kubeconfig = writeKubeconfig(join(work, "kubeconfig"), fake.url, "admin");
  forbiddenKubeconfig = writeKubeconfig(join(work, "kubeconfig-ns"), fake.url, "namespace-user");
});
afterAll(async () => {
  await fake.close();
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI as a child process (asynchronously: the API server answers from this process). */
function explain(args: readonly string[], config = kubeconfig): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "explain", ...args], { cwd: work, env: { PATH: process.env.PATH ?? "", ...(config && { KUBECONFIG: config }) } }, (err, stdout, stderr) => {
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function report(args: readonly string[], config = kubeconfig): Promise<ExplainReport> {
  const r = await explain([...args, "-o", "json"], config);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as ExplainReport;
}

const byObject = (rep: ExplainReport, ref: string): ExplainedObject => {
  const found = rep.objects.find((o) => o.object === ref);
  if (!found) throw new Error(`${ref} is not in the report: ${rep.objects.map((o) => o.object).join(", ")}`);
  return found;
};

function golden(name: string, actual: string): void {
  const stable = actual.replaceAll(context.template.hash, "$CURRENT_TEMPLATE_HASH");
  const path = join(DIR, name);
  if (UPDATE) writeFileSync(path, stable);
  else if (!existsSync(path)) throw new Error(`missing golden ${path}; run UPDATE_GOLDEN=1 npm run test:golden`);
  expect(stable).toBe(readFileSync(path, "utf8"));
}

describe("explain against the cluster: golden outputs", () => {
  it.each([
    ["shop.table.txt", ["-n", "shop", "--ca", "ca.crt"], 3],
    ["shop.json", ["-n", "shop", "--ca", "ca.crt", "-o", "json"], 3],
    ["all.table.txt", ["-A", "--ca", "ca.crt"], 3],
    ["api-migrating.table.txt", ["deployment/api", "-n", "migrating", "--ca", "ca.crt"], 3],
    ["web-pod.table.txt", ["pod/web-5f7c9-aaaaa", "-n", "shop", "--ca", "ca.crt"], 0],
  ] as const)("%s", async (name, args, code) => {
    const r = await explain(args);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(code);
    golden(name, r.stdout);
  });
});

describe("explain against the cluster: what it answers", () => {
  let shop: ExplainReport;
  let all: ExplainReport;
  beforeAll(async () => {
    shop = await report(["-n", "shop", "--ca", "ca.crt"]);
    all = await report(["-A", "--ca", "ca.crt"]);
  });

  it("lists every workload and bare pod of the namespace, not the pods a workload owns", () => {
    expect(shop.objects.map((o) => o.object)).toEqual([
      "Deployment/shop/reports",
      "Deployment/shop/web",
      "StatefulSet/shop/pasted",
      "DaemonSet/shop/node-exporter",
      "Pod/shop/debug",
    ]);
  });

  it("judges every webhook in the API server's order: configurations by name, webhooks as listed", () => {
    const web = byObject(shop, "Deployment/shop/web");
    expect(web.webhooks.map((w) => `${w.configuration}/${w.webhook}`)).toEqual([
      "a-policy-defaults/defaults.policy.example.com",
      "istio-sidecar-injector-1-22/rev.namespace.sidecar-injector.istio.io",
      "sidecar-injector/namespace.sidecar-injector.io",
      "sidecar-injector/object.sidecar-injector.io",
      "sidecar-injector/workloads.sidecar-injector.io",
    ]);
    expect(web.webhooks.map((w) => w.code)).toEqual(["called", "namespace_selector_excludes", "called", "namespace_selector_excludes", "rules_do_not_match"]);
    expect(web.injectors).toEqual(["sidecar-injector/namespace.sidecar-injector.io (this injector)"]);
  });

  it.each([
    ["a labelled namespace: injected", "Deployment/shop/web", "inject", "namespace_enabled", /namespace shop/i],
    ["opt-out label: the objectSelector excludes it", "Deployment/shop/reports", "not_called", "webhook_not_called", /objectSelector term sidecar\.istio\.io\/inject notin \(false\) \(sidecar\.istio\.io\/inject=false\) excludes the pod/],
    ["hostNetwork: a matchCondition excludes it", "DaemonSet/shop/node-exporter", "not_called", "webhook_not_called", /matchCondition not-host-network/],
    ["a template that already carries the status annotation", "StatefulSet/shop/pasted", "not_called", "webhook_not_called", /matchCondition not-already-injected/],
    ["an unlabelled namespace", "Deployment/legacy/batch", "not_called", "webhook_not_called", /namespaceSelector term istio-injection in \(enabled,audit\) \(istio-injection is absent\) excludes namespace legacy/],
    ["opt-in label in an unlabelled namespace: the object webhook", "Job/legacy/migrate", "inject", "pod_label_enabled", /sidecar\.istio\.io\/inject/],
    ["istio.io/rev: istiod's revision, not ours", "StatefulSet/canary/db", "not_called", "webhook_not_called", /namespaceSelector term !istio\.io\/rev \(istio\.io\/rev=1-22\) excludes namespace canary/],
    ["kube-system: a matchCondition excludes it", "DaemonSet/kube-system/kube-proxy", "not_called", "webhook_not_called", /matchCondition not-kube-system/],
  ])("%s", (_name, ref, decision, code, message) => {
    const o = byObject(all, ref);
    expect(o.decision).toBe(decision);
    const r = o.reasons.find((x) => x.code === code);
    expect(r?.message).toMatch(message);
  });

  it("says which pods run a current, a stale or no sidecar, and what to do", () => {
    const web = byObject(shop, "Deployment/shop/web");
    expect(web.pods.map((p) => [p.name, p.sidecar])).toEqual([
      ["web-5f7c9-aaaaa", "current"],
      ["web-5f7c9-bbbbb", "stale"],
      ["web-5f7c9-ccccc", "none"],
    ]);
    expect(web.pods[1]?.detail).toContain(`template ${STALE_HASH}`);
    expect(web.findings.map((f) => [f.code, f.object, f.fix])).toEqual([
      ["stale_sidecar", "Pod/shop/web-5f7c9-bbbbb", "kubectl rollout restart deployment/web -n shop"],
      ["missing_sidecar", "Pod/shop/web-5f7c9-ccccc", "kubectl rollout restart deployment/web -n shop"],
    ]);
  });

  it("states a second injector on the same pods as webhook_conflict (error), with the fix", () => {
    const api = byObject(all, "Deployment/migrating/api");
    expect(api.injectors).toEqual([
      "istio-sidecar-injector-1-22/rev.namespace.sidecar-injector.istio.io (istiod)",
      "sidecar-injector/namespace.sidecar-injector.io (this injector)",
    ]);
    expect(api.findings).toEqual([expect.objectContaining({ code: "webhook_conflict", severity: "error", object: "Deployment/migrating/api" })]);
    expect(api.findings[0]?.fix).toContain("istio.io/rev");
  });

  it("states a template that the namespace's Pod Security level rejects after injection", () => {
    const cache = byObject(all, "Deployment/payments/cache");
    expect(cache.decision).toBe("inject");
    expect(cache.findings.map((f) => [f.code, f.severity])).toEqual([["podsecurity_conflict", "error"]]);
  });

  it("a bare pod with an invalid override: the webhook's refusal, and the missing sidecar", () => {
    const debug = byObject(shop, "Pod/shop/debug");
    expect(debug.decision).toBe("deny");
    expect(debug.error?.code).toBe("INVALID_ANNOTATION");
    expect(debug.findings.map((f) => f.code).sort()).toEqual(["invalid_annotation", "missing_sidecar"]);
  });

  it("a pod is judged by its spec as it was created: the injection it carries taken out", async () => {
    const pod = await report(["pod/web-5f7c9-aaaaa", "-n", "shop", "--ca", "ca.crt"]);
    expect(pod.objects).toHaveLength(1);
    const o = pod.objects[0] as ExplainedObject;
    expect(o.judged).toBe("pod spec");
    expect(o.injectors).toEqual(["sidecar-injector/namespace.sidecar-injector.io (this injector)"]);
    expect(o.decision).toBe("inject");
    expect(o.pods).toEqual([expect.objectContaining({ name: "web-5f7c9-aaaaa", sidecar: "current" })]);
  });

  it("checks our webhooks' caBundle against the served CA when --ca is given", async () => {
    expect(shop.findings.filter((f) => f.code === "webhook_config" && f.message.includes("caBundle"))).toEqual([]);
    const wrong = await report(["-n", "shop", "--ca", "other-ca.crt"]);
    expect(wrong.findings.filter((f) => f.message.includes("does not hold the CA")).map((f) => f.object)).toEqual([
      "MutatingWebhookConfiguration/sidecar-injector",
      "MutatingWebhookConfiguration/sidecar-injector",
      "MutatingWebhookConfiguration/sidecar-injector",
    ]);
    const unchecked = await report(["-n", "shop"]);
    expect(unchecked.notes.join(" ")).toContain("caBundle of our webhooks was not checked");
  });

  it("reads one namespace with namespace-scoped calls (a developer's rights suffice)", () => {
    const calls = fake.requests.filter((r) => r.includes("/namespaces/shop"));
    expect(calls).toEqual(expect.arrayContaining(["GET /api/v1/namespaces/shop", "GET /api/v1/namespaces/shop/pods?limit=500", "GET /apis/apps/v1/namespaces/shop/deployments?limit=500"]));
    // Every list is paged (kubectl's 500): none asks for a whole kind at once.
    expect(calls.filter((r) => r !== "GET /api/v1/namespaces/shop").every((r) => r.includes("limit=500"))).toBe(true);
  });
});

describe("explain against the cluster: when the webhook configurations cannot be listed", () => {
  it("says so, infers our webhook from the labels, and judges the rest", async () => {
    const r = await explain(["-n", "shop", "-o", "json"], forbiddenKubeconfig);
    expect(r.stderr).toBe("");
    const rep = JSON.parse(r.stdout) as ExplainReport;
    expect(rep.notes[0]).toMatch(/could not be read \(list mutatingwebhookconfigurations failed \(HTTP 403\): .*cannot list resource "mutatingwebhookconfigurations"/);
    const web = byObject(rep, "Deployment/shop/web");
    expect(web.webhooks).toEqual([]);
    expect(web.decision).toBe("inject");
    expect(web.pods.map((p) => p.sidecar)).toEqual(["current", "stale", "none"]);
    expect(byObject(rep, "Deployment/shop/reports").decision).toBe("skip");
    const canary = await report(["-n", "canary"], forbiddenKubeconfig);
    expect(byObject(canary, "StatefulSet/canary/db")).toMatchObject({ decision: "not_called", reasons: [expect.objectContaining({ code: "namespace_not_selected" })] });
  });
});

describe("explain against the cluster: exit codes and errors", () => {
  it.each([
    ["findings at error: 3", ["deployment/api", "-n", "migrating"], 3, ""],
    ["clean: 0", ["deployment/batch", "-n", "legacy"], 0, ""],
    ["--fail-on warning counts warnings", ["deployment/web", "-n", "shop", "--fail-on", "warning", "--ca", "ca.crt"], 3, ""],
    ["an object that does not exist: 1", ["deployment/nope", "-n", "shop"], 1, "not found:\n  - deployment/nope not found in namespace shop"],
    ["a namespace that does not exist: 1", ["-n", "nope"], 1, "namespace nope not found"],
    ["neither -n nor -A: usage", [], 2, "give -n NAMESPACE or -A"],
    ["KIND/NAME with -A: usage", ["deployment/web", "-A"], 2, "KIND/NAME needs -n NAMESPACE"],
    ["an unknown kind: usage", ["cronjob/x", "-n", "shop"], 2, "is not KIND/NAME with KIND one of"],
    ["--namespace-labels without -f: usage", ["-n", "shop", "--namespace-labels", "a=b"], 2, "--namespace-labels goes with -f FILE only"],
    ["--fail-on with -f: usage", ["-f", "x.yaml", "--fail-on", "error"], 2, "--fail-on goes with explain against the cluster"],
    ["KIND/NAME with -f: usage", ["deployment/web", "--filename=x.yaml"], 2, "KIND/NAME goes with explain against the cluster, not with -f"],
  ])("%s", async (_name, args, code, message) => {
    const r = await explain(args);
    expect(r.status).toBe(code);
    expect(r.stderr).toContain(message);
  });

  it("without a cluster: 1, saying how to give one", async () => {
    const r = await explain(["-n", "shop"], "");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no cluster: set KUBECONFIG");
  });
});
