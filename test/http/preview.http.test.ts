/**
 * POST /preview through supertest: every accepted form, every output, every error, and the same
 * patch as /inject for the same pod.
 */
import { describe, expect, it } from "@jest/globals";
import request from "supertest";
import { stringify as toYaml } from "yaml";
import { aPod, reviewFor, testApp } from "../support/builders.js";

const app = testApp({ maxBodyBytes: () => 64 * 1024 });

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "shop" },
  spec: { selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }] } } },
};

interface Result {
  where: string;
  kind: string;
  decision: string;
  reasons: Array<{ code: string; message: string }>;
  warnings: string[];
  patch: Array<{ op: string; path: string }>;
  object: unknown;
  diff: string;
  error?: { code: string; problems: string[] };
}

function preview(body: string, type = "application/json", query = "") {
  return request(app).post(`/preview${query}`).set("Content-Type", type).send(body);
}

describe("POST /preview", () => {
  it("previews a Deployment (JSON): decision, reasons, patch under the template, object, diff", async () => {
    const res = await preview(JSON.stringify(deployment));
    expect(res.status).toBe(200);
    const [r] = (res.body as { results: Result[] }).results;
    expect(r).toMatchObject({ where: "documents[0]", kind: "Deployment", decision: "inject", reasons: [{ code: "namespace_enabled" }] });
    expect(r?.patch.every((op) => op.path.startsWith("/spec/template/"))).toBe(true);
    expect(r?.diff).toMatch(/^\+\s+- name: istio-proxy$/m);
    expect(JSON.stringify(r?.object)).toContain("istio-proxy");
  });

  it("reads several YAML documents, a List and an AdmissionReview", async () => {
    const yaml = [
      toYaml(deployment),
      toYaml({ apiVersion: "v1", kind: "List", items: [aPod(), { apiVersion: "v1", kind: "Service", metadata: { name: "s" } }] }),
      toYaml(reviewFor(aPod(), { namespace: "from-review" })),
    ].join("---\n");
    const res = await preview(yaml, "application/yaml");
    expect(res.status).toBe(200);
    const results = (res.body as { results: Array<Result & { namespace: string }> }).results;
    expect(results.map((r) => [r.where, r.kind, r.decision])).toEqual([
      ["documents[0]", "Deployment", "inject"],
      ["documents[1].items[0]", "Pod", "inject"],
      ["documents[1].items[1]", "Service", "not_applicable"],
      ["documents[2].request.object", "Pod", "inject"],
    ]);
    expect(results[3]?.namespace).toBe("from-review");
  });

  it("gives a Pod exactly the patch /inject gives", async () => {
    const pod = aPod({ annotations: { "sidecar.istio.io/proxyCPU": "300m" } });
    const viaPreview = await preview(JSON.stringify(pod), "application/json", "?output=patch&namespace=default");
    const viaWebhook = await request(app).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(pod)));
    const webhookPatch = JSON.parse(Buffer.from(viaWebhook.body.response.patch as string, "base64").toString()) as unknown;
    expect(viaPreview.status).toBe(200);
    expect(viaPreview.body).toEqual(webhookPatch);
  });

  it.each([
    ["yaml", "application/yaml", /sidecar.istio.io\/status/],
    ["diff", "text/x-diff", /^\+\s+- name: istio-proxy$/m],
  ])("output=%s", async (output, type, pattern) => {
    const res = await preview(JSON.stringify(deployment), "application/json", `?output=${output}`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain(type);
    expect(res.text).toMatch(pattern);
  });

  it("output=patch for several objects is one patch per object", async () => {
    const res = await preview(JSON.stringify({ apiVersion: "v1", kind: "List", items: [deployment, aPod()] }), "application/json", "?output=patch");
    expect((res.body as Array<{ where: string; patch: unknown[] }>).map((p) => p.where)).toEqual(["documents[0].items[0]", "documents[0].items[1]"]);
  });

  it("adds the namespaceSelector outcome when namespace labels are given", async () => {
    const res = await preview(JSON.stringify(deployment), "application/json", "?namespaceLabels=team%3Dweb");
    const [r] = (res.body as { results: Result[] }).results;
    expect(r?.decision).toBe("skip");
    expect(r?.reasons[0]?.message).toContain("the API server would never call the injector");
    const on = await preview(JSON.stringify(deployment), "application/json", "?namespaceLabels=istio-injection%3Denabled");
    expect((on.body as { results: Result[] }).results[0]?.decision).toBe("inject");
  });

  it("reports a denial in the report, and refuses yaml/patch output for it with 422", async () => {
    const bad = structuredClone(deployment) as typeof deployment & { spec: { template: { metadata: Record<string, unknown> } } };
    bad.spec.template.metadata.annotations = { "sidecar.istio.io/proxyCPU": "lots" };
    const report = await preview(JSON.stringify(bad));
    expect(report.status).toBe(200);
    expect((report.body as { results: Result[] }).results[0]).toMatchObject({ decision: "deny", error: { code: "INVALID_ANNOTATION" } });
    const yaml = await preview(JSON.stringify(bad), "application/json", "?output=yaml");
    expect(yaml.status).toBe(422);
    expect(yaml.body.problems[0]).toContain('documents[0] (Deployment/web): sidecar.istio.io/proxyCPU="lots"');
  });

  it.each([
    ["text/plain", "x", "text/plain", "", 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["malformed JSON", "{", "application/json", "", 400, "INVALID_INPUT"],
    ["malformed YAML", "a: [", "application/yaml", "", 400, "INVALID_INPUT"],
    ["a template that is not an object", JSON.stringify({ kind: "Deployment", spec: { template: [] } }), "application/json", "", 400, "INVALID_INPUT"],
    ["an empty body", "", "application/json", "", 400, "EMPTY_BODY"],
    ["an unknown output", JSON.stringify(aPod()), "application/json", "?output=xml", 400, "BAD_REQUEST"],
    ["malformed namespace labels", JSON.stringify(aPod()), "application/json", "?namespaceLabels=novalue", 400, "INVALID_INPUT"],
    ["a body over the limit", JSON.stringify(aPod({ annotations: { big: "x".repeat(70 * 1024) } })), "application/json", "", 413, "BODY_TOO_LARGE"],
  ])("refuses %s", async (_name, body, type, query, status, code) => {
    const res = await preview(body, type, query);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ code });
  });

  it("names the document and path in the error", async () => {
    const res = await preview(`${JSON.stringify(aPod())}\n---\n${JSON.stringify({ kind: "CronJob", spec: {} })}`, "application/yaml");
    expect(res.body.message).toContain("documents[1].spec.jobTemplate: not an object");
  });

  it("answers 405 to GET /preview", async () => {
    expect((await request(app).get("/preview")).status).toBe(405);
  });
});
