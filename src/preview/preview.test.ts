import { describe, expect, it } from "@jest/globals";
import fjp from "fast-json-patch";
import { aPod, testContext } from "../../test/support/builders.js";
import { InvalidInputError } from "../errors.js";
import { runInjection } from "../injection/pipeline.js";
import { readDocuments } from "./documents.js";
import { previewDocuments } from "./preview.js";

const ctx = testContext();

function deployment(kind = "Deployment", extra: Record<string, unknown> = {}) {
  const template = { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }] } };
  const spec = kind === "CronJob" ? { schedule: "* * * * *", jobTemplate: { spec: { template } } } : { replicas: 2, template };
  return { apiVersion: kind === "CronJob" || kind === "Job" ? "batch/v1" : "apps/v1", kind, metadata: { name: "web", namespace: "shop" }, spec, ...extra };
}

function preview(value: unknown, params = {}) {
  return previewDocuments(readDocuments(JSON.stringify(value), "json"), ctx, params);
}

describe("previewDocuments", () => {
  it.each([
    ["Deployment", "/spec/template"],
    ["StatefulSet", "/spec/template"],
    ["DaemonSet", "/spec/template"],
    ["ReplicaSet", "/spec/template"],
    ["ReplicationController", "/spec/template"],
    ["Job", "/spec/template"],
    ["CronJob", "/spec/jobTemplate/spec/template"],
  ])("a %s gets a patch under %s that applies to it", (kind, prefix) => {
    const object = deployment(kind);
    const [p] = preview(object);
    expect(p?.decision).toBe("inject");
    expect(p?.patch.length).toBeGreaterThan(0);
    for (const op of p?.patch ?? []) expect(op.path.startsWith(`${prefix}/`)).toBe(true);
    expect(fjp.applyPatch(structuredClone(object), structuredClone(p?.patch as fjp.Operation[])).newDocument).toEqual(p?.object);
    expect(p?.diff).toMatch(/^\+\s+- name: istio-proxy$/m);
  });

  it("names the workload in the proxy's metadata", () => {
    const [p] = preview(deployment());
    const proxy = (p?.object as { spec: { template: { spec: { containers: Array<{ name: string; env: Array<{ name: string; value?: string }> }> } } } }).spec.template.spec.containers[1];
    expect(proxy?.env.find((e) => e.name === "ISTIO_META_OWNER")?.value).toBe("kubernetes://apis/apps/v1/namespaces/shop/deployments/web");
  });

  it("warns that a Job's proxy keeps it running without native sidecars", () => {
    const [p] = preview(deployment("CronJob"));
    expect(p?.reasons.map((r) => r.code)).toContain("job_without_native_sidecar");
    expect(p?.warnings[0]).toMatch(/^CronJob web: the proxy keeps the pod running/);
  });

  it("gives a Pod the same patch as the webhook", () => {
    const pod = aPod();
    const [p] = preview(pod);
    const webhook = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "default", object: pod }, ctx);
    expect(p?.patch).toEqual(webhook.patch);
  });

  it("passes other kinds through, unwraps Lists and AdmissionReviews", () => {
    const results = preview({
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg" }, data: {} },
        deployment(),
        { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { namespace: "from-review", object: aPod() } },
      ],
    });
    expect(results.map((r) => [r.where, r.kind, r.decision, r.namespace])).toEqual([
      ["documents[0].items[0]", "ConfigMap", "not_applicable", "default"],
      ["documents[0].items[1]", "Deployment", "inject", "shop"],
      ["documents[0].items[2].request.object", "Pod", "inject", "from-review"],
    ]);
  });

  it("reports the namespaceSelector outcome when namespace labels are given", () => {
    const [off] = preview(deployment(), { namespaceLabels: {} });
    expect(off?.decision).toBe("skip");
    expect(off?.reasons[0]?.code).toBe("namespace_not_selected");
    expect(off?.reasons[0]?.message).toContain("the API server would never call the injector");
    const [on] = preview(deployment(), { namespaceLabels: { "istio-injection": "enabled" } });
    expect(on?.decision).toBe("inject");
    const [disabled] = preview(deployment(), { namespaceLabels: { "istio-injection": "disabled" } });
    expect(disabled?.reasons[0]?.message).toContain("istio-injection=disabled");
    const optIn = deployment();
    (optIn.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels["sidecar.istio.io/inject"] = "true";
    expect(preview(optIn, { namespaceLabels: {} })[0]?.decision).toBe("inject");
  });

  it("warns when the namespace enforces a Pod Security level that rejects istio-init", () => {
    const [p] = preview(deployment(), { namespaceLabels: { "istio-injection": "enabled", "pod-security.kubernetes.io/enforce": "baseline" } });
    expect(p?.decision).toBe("inject");
    expect(p?.reasons.map((r) => r.code)).toContain("podsecurity_conflict");
    expect(p?.warnings.some((w) => w.includes('enforces Pod Security "baseline"'))).toBe(true);
    const cni = previewDocuments(readDocuments(JSON.stringify(deployment()), "json"), testContext({ cni: true }), {
      namespaceLabels: { "istio-injection": "enabled", "pod-security.kubernetes.io/enforce": "restricted" },
    });
    expect(cni[0]?.reasons.map((r) => r.code)).not.toContain("podsecurity_conflict");
  });

  it("explains a denial", () => {
    const object = deployment();
    (object.spec as { template: { metadata: Record<string, unknown> } }).template.metadata.annotations = { "sidecar.istio.io/proxyCPU": "lots" };
    const [p] = preview(object);
    expect(p?.decision).toBe("deny");
    expect(p?.error?.problems[0]).toContain('sidecar.istio.io/proxyCPU="lots"');
    expect(p?.patch).toEqual([]);
  });

  it("reads several YAML documents and skips empty ones", () => {
    const text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n" + JSON.stringify(deployment()) + "\n---\n";
    const docs = readDocuments(text, "yaml");
    expect(docs).toHaveLength(2);
    expect(previewDocuments(docs, ctx, {}).map((p) => p.decision)).toEqual(["not_applicable", "inject"]);
  });

  it.each([
    ["malformed JSON", "{", "json", "documents[0]: not valid JSON"],
    ["malformed YAML", "a: [\n---\nb: 1\n", "yaml", "documents[0]: not valid YAML"],
    ["a scalar document", "42", "yaml", "documents[0]: not an object"],
    ["a template that is not an object", JSON.stringify({ kind: "Deployment", spec: { template: 3 } }), "json", "documents[0].spec.template: not an object"],
    ["a CronJob without jobTemplate", JSON.stringify({ kind: "CronJob", spec: {} }), "json", "documents[0].spec.jobTemplate: not an object"],
    ["an object without kind", JSON.stringify({ metadata: {} }), "json", "documents[0].kind: missing"],
    ["no documents", "", "yaml", "no documents in the input"],
  ] as const)("refuses %s naming where", (_name, text, format, message) => {
    expect(() => readDocuments(text, format)).toThrow(InvalidInputError);
    expect(() => readDocuments(text, format)).toThrow(message);
  });
});
