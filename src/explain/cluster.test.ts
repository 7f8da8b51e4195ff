import { describe, expect, it } from "@jest/globals";
import fjp from "fast-json-patch";
import { InvalidInputError, NotFoundError } from "../errors.js";
import { runInjection } from "../injection/pipeline.js";
import { compileTemplate } from "../injection/template.js";
import { loadConfig } from "../config/load-config.js";
import { type ExplainReport, type ExplainedObject, explainCluster, explainFailsAt, parseObjectRef } from "./cluster.js";

type Json = Record<string, unknown>;

const context = { template: compileTemplate(loadConfig({ env: {} })), clusterSupportsNativeSidecars: true };
const ns = (name: string, labels: Record<string, string> = {}): Json => ({ kind: "Namespace", metadata: { name, labels } });
const template = (labels: Record<string, string> = { app: "web" }, spec: Json = {}): Json => ({
  metadata: { labels },
  spec: { containers: [{ name: "web", image: "nginx" }], ...spec },
});
const workload = (kind: string, name: string, namespace = "shop", extra: Json = {}): Json => ({ kind, metadata: { name, namespace, ...extra }, spec: { template: template() } });
const owned = (kind: string, name: string) => ({ ownerReferences: [{ apiVersion: "v1", kind, name, uid: "u", controller: true }] });
const pod = (name: string, meta: Json = {}, spec: Json = {}): Json => ({
  kind: "Pod",
  metadata: { name, namespace: "shop", labels: { app: "web" }, ...meta },
  spec: { containers: [{ name: "web", image: "nginx" }], ...spec },
});
const ourWebhook = (extra: Json = {}): Json => ({
  kind: "MutatingWebhookConfiguration",
  metadata: { name: "sidecar-injector" },
  webhooks: [
    {
      name: "namespace.sidecar-injector.io",
      clientConfig: { service: { namespace: "sidecar-injector", name: "sidecar-injector", path: "/inject" } },
      rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
      namespaceSelector: { matchLabels: { "istio-injection": "enabled" } },
      failurePolicy: "Fail",
      ...extra,
    },
  ],
});
const run = (objects: Json[], target: Parameters<typeof explainCluster>[1] = { namespace: "shop" }, listed = true): ExplainReport =>
  explainCluster(objects, target, { context, webhookConfigsListed: listed });
const only = (r: ExplainReport): ExplainedObject => {
  expect(r.objects).toHaveLength(1);
  return r.objects[0] as ExplainedObject;
};

/** A pod injected by the pipeline itself, as it runs in the cluster. */
function injected(p: Json): Json {
  const result = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "shop", object: p }, context);
  return fjp.applyPatch(structuredClone(p), structuredClone(result.patch) as fjp.Operation[], true, false).newDocument as Json;
}

describe("parseObjectRef", () => {
  it.each([
    ["deployment/web", { kind: "Deployment", name: "web" }],
    ["deploy/web", { kind: "Deployment", name: "web" }],
    ["Deployment/web", { kind: "Deployment", name: "web" }],
    ["po/web-abc", { kind: "Pod", name: "web-abc" }],
    ["sts/db", { kind: "StatefulSet", name: "db" }],
  ])("%s", (text, expected) => {
    expect(parseObjectRef(text)).toEqual(expected);
  });
  it.each(["web", "cronjob/x", "deployment/", "deployment/a/b", "constructor/x", "/web"])("%s is refused", (text) => {
    expect(() => parseObjectRef(text)).toThrow(InvalidInputError);
  });
});

describe("explainCluster: what it explains", () => {
  it.each<[string, Json[], string[]]>([
    ["a Deployment, not its ReplicaSet or pods", [workload("Deployment", "web"), workload("ReplicaSet", "web-1", "shop", owned("Deployment", "web")), pod("web-1-a", owned("ReplicaSet", "web-1"))], ["Deployment/shop/web"]],
    ["a ReplicaSet whose owner is not listed", [workload("ReplicaSet", "web-1", "shop", owned("Deployment", "gone"))], ["ReplicaSet/shop/web-1"]],
    ["a Job of a CronJob (CronJobs are not listed)", [workload("Job", "backup-28000000", "shop", owned("CronJob", "backup"))], ["Job/shop/backup-28000000"]],
    ["a pod owned by a custom resource", [pod("runner-1", owned("Runner", "ci"))], ["Pod/shop/runner-1"]],
    ["only the namespace asked for", [workload("Deployment", "web"), workload("Deployment", "api", "other")], ["Deployment/shop/web"]],
  ])("%s", (_name, objects, expected) => {
    expect(run([ns("shop"), ns("other"), ourWebhook(), ...objects]).objects.map((o) => o.object)).toEqual(expected);
  });

  it("an object that is not there is a NotFoundError naming it", () => {
    expect(() => run([ns("shop")], { namespace: "shop", kind: "Deployment", name: "web" })).toThrow(new NotFoundError("deployment/web not found in namespace shop"));
  });
});

describe("explainCluster: the answer", () => {
  it("a running pod is judged as it was created: our containers, volumes and status taken out", () => {
    const notAlreadyInjected = { matchConditions: [{ name: "not-injected", expression: "!has(object.metadata.annotations) || !('sidecar.istio.io/status' in object.metadata.annotations)" }] };
    const running = injected(pod("web-1"));
    const o = only(run([ns("shop", { "istio-injection": "enabled" }), ourWebhook(notAlreadyInjected), running], { namespace: "shop", kind: "Pod", name: "web-1" }));
    expect(o.webhooks.map((w) => w.code)).toEqual(["called"]);
    expect(o.decision).toBe("inject");
    expect(o.pods).toEqual([{ name: "web-1", sidecar: "current", detail: `injected with template ${context.template.hash}` }]);
  });

  it("a matchCondition that cannot be evaluated under failurePolicy Fail: the API server rejects the pod", () => {
    const broken = { matchConditions: [{ name: "broken", expression: "object.spec.nodeName == 'a'" }] };
    const o = only(run([ns("shop", { "istio-injection": "enabled" }), ourWebhook(broken), workload("Deployment", "web")]));
    expect(o.decision).toBe("rejected");
    expect(o.error?.message).toMatch(/^The API server would reject the pod: webhook sidecar-injector\/namespace\.sidecar-injector\.io: its matchCondition broken/);
  });

  it("no webhook configuration of ours: not called, saying which service nothing sends pods to", () => {
    const o = only(run([ns("shop", { "istio-injection": "enabled" }), workload("Deployment", "web")]));
    expect(o.decision).toBe("not_called");
    expect(o.reasons[0]?.message).toContain("No MutatingWebhookConfiguration sends pods to service sidecar-injector/sidecar-injector");
  });

  it("webhook configurations not listed: inferred from the labels, and a note that says so", () => {
    const r = run([ns("shop", { "istio-injection": "enabled" }), workload("Deployment", "web"), ourWebhook()], { namespace: "shop" }, false);
    expect(only(r)).toMatchObject({ decision: "inject", webhooks: [] });
    expect(r.notes[0]).toContain("inferred from the namespace labels");
  });

  it("explainFailsAt: errors and warnings from objects and from the namespace alike", () => {
    const stale = injected(pod("web-1", owned("ReplicaSet", "web-1")));
    const meta = stale.metadata as { annotations: Record<string, string> };
    meta.annotations["sidecar-injector.io/template-hash"] = "old";
    const objects = [ns("shop", { "istio-injection": "enabled" }), ourWebhook(), workload("StatefulSet", "web"), { ...stale, metadata: { ...meta, ...owned("StatefulSet", "web") } }];
    const r = run(objects, { namespace: "shop" }, false);
    expect(only(r).findings.map((f) => f.code)).toEqual(["stale_sidecar"]);
    expect(r.findings).toEqual([]);
    expect(explainFailsAt(r, "warning")).toBe(true);
    expect(explainFailsAt(r, "error")).toBe(false);
    // Our bare test webhook does not keep kube-system out: a namespace-level webhook_config error.
    const listed = run(objects);
    expect(listed.findings.map((f) => [f.code, f.severity])).toContainEqual(["webhook_config", "error"]);
    expect(explainFailsAt(listed, "error")).toBe(true);
  });
});
