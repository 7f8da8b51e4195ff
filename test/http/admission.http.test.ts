/**
 * The HTTP contract of POST /inject and the health endpoints, driven through supertest.
 */
import { describe, expect, it } from "@jest/globals";
import request from "supertest";
import { handleAdmission } from "../../src/admission/handler.js";
import { type AdmissionResponse, parseAdmissionReview } from "../../src/admission/review.js";
import { silentLogger } from "../../src/log.js";
import type { InjectionContext } from "../../src/injection/pipeline.js";
import { aPod, reviewFor, testApp, testContext } from "../support/builders.js";

function makeApp(opts: { context?: () => InjectionContext; ready?: boolean; draining?: boolean; maxBody?: number } = {}) {
  return testApp({
    ...(opts.context && { context: opts.context }),
    health: { ready: () => opts.ready ?? true, draining: () => opts.draining ?? false },
    maxBodyBytes: () => opts.maxBody ?? 6 * 1024 * 1024,
  });
}

const app = makeApp();

function post(body: unknown, contentType = "application/json") {
  return request(app)
    .post("/inject")
    .set("Content-Type", contentType)
    .send(typeof body === "string" ? body : JSON.stringify(body));
}

function responseOf(res: request.Response): AdmissionResponse {
  return (res.body as { response: AdmissionResponse }).response;
}

function patchOf(resp: AdmissionResponse): Array<{ op: string; path: string }> {
  return resp.patch ? (JSON.parse(Buffer.from(resp.patch, "base64").toString()) as Array<{ op: string; path: string }>) : [];
}

describe("POST /inject: transport errors", () => {
  it.each([
    ["malformed JSON", "{not json", "application/json", 400, "MALFORMED_JSON"],
    ["empty body", "", "application/json", 400, "EMPTY_BODY"],
    ["text/plain", JSON.stringify(reviewFor(aPod())), "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["yaml content type", "apiVersion: v1", "application/yaml", 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["a JSON array", "[]", "application/json", 400, "BAD_REQUEST"],
    ["not an AdmissionReview", JSON.stringify({ apiVersion: "v1", kind: "Pod" }), "application/json", 400, "BAD_REQUEST"],
    [
      "missing uid",
      JSON.stringify({ ...reviewFor(aPod()), request: { ...(reviewFor(aPod()).request as object), uid: "" } }),
      "application/json",
      400,
      "BAD_REQUEST",
    ],
    [
      "missing object",
      JSON.stringify({ ...reviewFor(aPod()), request: { ...(reviewFor(aPod()).request as object), object: undefined } }),
      "application/json",
      400,
      "BAD_REQUEST",
    ],
    ["unknown apiVersion", JSON.stringify(reviewFor(aPod(), { apiVersion: "admission.k8s.io/v2" })), "application/json", 400, "BAD_REQUEST"],
    ["a deeply nested array", `${"[".repeat(100_000)}${"]".repeat(100_000)}`, "application/json", 400, "BAD_REQUEST"],
  ])("%s → %i", async (_name, body, type, status, code) => {
    const res = await post(body, type);
    expect(res.status).toBe(status);
    expect(res.headers["content-type"]).toMatch(/application\/json/);
    expect(res.body).toMatchObject({ code });
    expect(typeof (res.body as { message: string }).message).toBe("string");
  });

  it("names what is wrong", async () => {
    const res = await post({ ...reviewFor(aPod()), request: { ...(reviewFor(aPod()).request as object), uid: 7 } });
    expect((res.body as { message: string }).message).toContain("request.uid must be a non-empty string");
  });

  it("refuses a body over the limit with 413", async () => {
    const small = makeApp({ maxBody: 2048 });
    const pod = aPod({ annotations: { big: "x".repeat(4096) } });
    const res = await request(small).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(pod)));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: "BODY_TOO_LARGE" });
  });

  it("accepts a 5 MiB review (express' 100 kB default would not)", async () => {
    const pod = aPod({ annotations: { big: "x".repeat(5 * 1024 * 1024) } });
    const res = await post(reviewFor(pod));
    expect(res.status).toBe(200);
    expect(responseOf(res).allowed).toBe(true);
  });

  it("answers 405 to GET /inject and 404 elsewhere", async () => {
    expect((await request(app).get("/inject")).status).toBe(405);
    expect((await request(app).get("/nope")).status).toBe(404);
  });
});

describe("POST /inject: reviews", () => {
  it.each(["admission.k8s.io/v1", "admission.k8s.io/v1beta1"])("answers %s in the same version with the uid", async (apiVersion) => {
    const res = await post(reviewFor(aPod(), { apiVersion, uid: "u-123" }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ apiVersion, kind: "AdmissionReview" });
    const resp = responseOf(res);
    expect(resp.uid).toBe("u-123");
    expect(resp.allowed).toBe(true);
    expect(resp.patchType).toBe("JSONPatch");
    expect(patchOf(resp).some((op) => op.path === "/spec/containers/1")).toBe(true);
    expect(resp.auditAnnotations).toMatchObject({ decision: "inject", reasons: "namespace_enabled" });
  });

  it("accepts a charset parameter on the content type", async () => {
    const res = await post(reviewFor(aPod()), "application/json; charset=utf-8");
    expect(res.status).toBe(200);
  });

  it("skips with no patch and an audit annotation", async () => {
    const resp = responseOf(await post(reviewFor(aPod({ labels: { "sidecar.istio.io/inject": "false" } }))));
    expect(resp).toMatchObject({ allowed: true, auditAnnotations: { decision: "skip", reasons: "pod_label_disabled" } });
    expect(resp.patch).toBeUndefined();
    expect(resp.patchType).toBeUndefined();
    expect(resp.warnings).toBeUndefined();
  });

  it("warns about a skip the user may not expect", async () => {
    const resp = responseOf(await post(reviewFor(aPod({ spec: { hostNetwork: true } }))));
    expect(resp.allowed).toBe(true);
    expect(resp.warnings?.[0]).toMatch(/^sidecar not injected: The pod uses the host network/);
    for (const w of resp.warnings ?? []) expect(w.length).toBeLessThanOrEqual(120);
  });

  it.each([
    ["a custom resource", { kind: { group: "example.com", version: "v1", kind: "Widget" } }],
    ["a Deployment named like a core kind in another group", { kind: { group: "example.com", version: "v1", kind: "Deployment" } }],
    ["an UPDATE", { operation: "UPDATE" }],
    ["a subresource", { subResource: "status" }],
  ])("allows %s untouched, with no warning", async (_name, opts) => {
    const resp = responseOf(await post(reviewFor(aPod(), opts)));
    expect(resp).toEqual({ uid: expect.any(String), allowed: true });
  });

  it("allows a DELETE without an object", async () => {
    const review = reviewFor(aPod(), { operation: "DELETE" });
    delete (review.request as Record<string, unknown>).object;
    const resp = responseOf(await post(review));
    expect(resp.allowed).toBe(true);
  });

  it("answers a dryRun review the same way", async () => {
    const wet = responseOf(await post(reviewFor(aPod())));
    const dry = responseOf(await post(reviewFor(aPod(), { dryRun: true })));
    expect(dry).toEqual(wet);
  });

  it("is idempotent: our own output gets no patch", async () => {
    const first = responseOf(await post(reviewFor(aPod())));
    const ops = JSON.parse(Buffer.from(first.patch as string, "base64").toString()) as never[];
    const { default: fjp } = await import("fast-json-patch");
    const injected = fjp.applyPatch(aPod(), ops, true, false).newDocument;
    const second = responseOf(await post(reviewFor(injected)));
    expect(second).toMatchObject({ allowed: true, auditAnnotations: { decision: "already_injected" } });
    expect(second.patch).toBeUndefined();
  });

  it("denies invalid overrides with 422, every problem named", async () => {
    const pod = aPod({ annotations: { "sidecar.istio.io/proxyCPU": "lots", "sidecar.istio.io/logLevel": "loud" } });
    const res = await post(reviewFor(pod, { uid: "u-9" }));
    expect(res.status).toBe(200);
    const resp = responseOf(res);
    expect(resp).toMatchObject({ uid: "u-9", allowed: false, status: { code: 422, reason: "Invalid" } });
    expect(resp.status?.message).toContain('sidecar.istio.io/proxyCPU="lots"');
    expect(resp.status?.message).toContain('sidecar.istio.io/logLevel="loud"');
  });

  it.each([
    ["labels not a map", { metadata: { labels: ["a"] }, spec: { containers: [{ name: "a" }] } }, "metadata.labels must be a map of strings"],
    ["label value not a string", { metadata: { labels: { a: 1 } }, spec: { containers: [{ name: "a" }] } }, 'metadata.labels["a"] must be a string'],
    ["annotations not a map", { metadata: { annotations: "x" }, spec: { containers: [{ name: "a" }] } }, "metadata.annotations must be a map"],
    ["containers not a list", { metadata: {}, spec: { containers: { name: "a" } } }, "spec.containers must be a non-empty list"],
    ["container not an object", { metadata: {}, spec: { containers: ["a"] } }, "spec.containers[0] must be an object"],
    ["no spec", { metadata: {} }, "spec must be an object"],
  ])("denies a pod whose %s with 400 naming the path", async (_name, object, message) => {
    const resp = responseOf(await post(reviewFor(object)));
    expect(resp).toMatchObject({ allowed: false, status: { code: 400, reason: "BadRequest" } });
    expect(resp.status?.message).toContain(message);
  });

  it("turns an unexpected error into allowed:false 500 and keeps serving", async () => {
    let fail = true;
    const ctx = testContext();
    const flaky = makeApp({
      context: () => {
        if (fail) throw new Error("boom");
        return ctx;
      },
    });
    const res = await request(flaky).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(aPod(), { uid: "u-500" })));
    expect(res.status).toBe(200);
    expect(responseOf(res)).toMatchObject({ uid: "u-500", allowed: false, status: { code: 500, reason: "InternalError" } });
    expect(responseOf(res).status?.message).toContain("boom");
    fail = false;
    const ok = await request(flaky).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(aPod())));
    expect(responseOf(ok).allowed).toBe(true);
  });

  it("injects a pod nested 200,000 levels deep in a field injection never walks, carrying it untouched", async () => {
    const n = 200_000;
    const deep = `${'{"x":'.repeat(n)}"leaf"${"}".repeat(n)}`;
    const body = JSON.stringify(reviewFor(aPod({ spec: { extra: "DEEP" } as never }))).replace('"DEEP"', deep);
    const resp = responseOf(await post(body));
    expect(resp.allowed).toBe(true);
    const ops = JSON.parse(Buffer.from(resp.patch ?? "", "base64").toString("utf8")) as Array<{ path: string }>;
    expect(ops.length).toBeGreaterThan(0);
    expect(ops.filter((op) => op.path.startsWith("/spec/extra"))).toEqual([]);
  });

  it("denies re-injecting such a pod (the general path walks the whole pod) with 400 naming where", async () => {
    const n = 200_000;
    const deep = `${'{"x":'.repeat(n)}"leaf"${"}".repeat(n)}`;
    const status = JSON.stringify({ initContainers: ["istio-init"], containers: ["istio-proxy"], volumes: [], imagePullSecrets: null, revision: "default" });
    const pod = aPod({ annotations: { "sidecar.istio.io/status": status }, spec: { extra: "DEEP" } as never });
    const body = JSON.stringify(reviewFor(pod)).replace('"DEEP"', deep);
    const resp = responseOf(await post(body));
    expect(resp).toMatchObject({ allowed: false, status: { code: 400, reason: "BadRequest" } });
    expect(resp.status?.message).toMatch(/spec\.extra(\.x)+ nests deeper than 64 levels/);
  });

  it("denies deeply nested container ports (which it serializes) with 400 naming where", async () => {
    const n = 100_000;
    const deep = `${'{"x":'.repeat(n)}"leaf"${"}".repeat(n)}`;
    const pod = aPod({ spec: { containers: [{ name: "web", ports: [{ containerPort: 80, extra: "DEEP" }] }] } as never });
    const body = JSON.stringify(reviewFor(pod)).replace('"DEEP"', deep);
    const resp = responseOf(await post(body));
    expect(resp).toMatchObject({ allowed: false, status: { code: 400, reason: "BadRequest" } });
    expect(resp.status?.message).toMatch(/spec\.containers\[0\]\.ports\[0\]\.extra(\.x)+ nests deeper than 64 levels/);
  });

  it.each([
    ["a container name of 200,000 characters", () => aPod({ spec: { containers: [{ name: "a".repeat(200_000), image: "x" }] } as never }), /spec\.containers\[0\]\.name "a{40}"… \(200000 characters\) must be lowercase/],
    ["an annotation key of 300,000 characters", () => aPod({ annotations: { ["k".repeat(300_000)]: "v" } }), /metadata\.annotations\["k{40}"… \(300000 characters\)\]: the key must be/],
    ["a label key with a space", () => aPod({ labels: { "my label": "v" } }), /metadata\.labels\["my label"\]: the key must be/],
    ["an init container name with capitals", () => aPod({ spec: { containers: [{ name: "web" }], initContainers: [{ name: "Setup" }] } as never }), /spec\.initContainers\[0\]\.name "Setup" must be/],
  ])("refuses %s with 400 INVALID_POD naming the path, without echoing it whole", async (_name, pod, message) => {
    const resp = responseOf(await post(JSON.stringify(reviewFor(pod()))));
    expect(resp).toMatchObject({ allowed: false, status: { code: 400, reason: "BadRequest" } });
    expect(resp.status?.message).toMatch(message);
    expect(resp.status?.message?.length).toBeLessThan(1000);
    expect(resp.patch).toBeUndefined();
  });

  it("does not let __proto__ keys pollute prototypes", async () => {
    const body = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"p","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","object":{"metadata":{"name":"p","labels":{"__proto__":"x","polluted":"no"},"annotations":{"__proto__":{"polluted":"yes"}}},"spec":{"containers":[{"name":"a"}]}}}}`;
    const resp = responseOf(await post(body));
    expect(resp.allowed).toBe(false); // annotations.__proto__ is an object, not a string
    expect(resp.status?.message).toContain('metadata.annotations["__proto__"] must be a string');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("POST /inject: workloads (apply-time checks)", () => {
  function deploymentWith(annotations: Record<string, string>, labels: Record<string, string> = {}) {
    return {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: { template: { metadata: { labels: { app: "web", ...labels }, annotations }, spec: { containers: [{ name: "web" }] } } },
    };
  }
  const deploymentKind = { kind: { group: "apps", version: "v1", kind: "Deployment" } };

  it("warns about invalid sidecar annotations on a Deployment's template, with no patch", async () => {
    const review = reviewFor(deploymentWith({ "sidecar.istio.io/proxyCPU": "lots" }), { ...deploymentKind, operation: "UPDATE" });
    const resp = responseOf(await post(review));
    expect(resp).toMatchObject({ allowed: true, auditAnnotations: { decision: "workload_checked", problems: "1" } });
    expect(resp.patch).toBeUndefined();
    expect(resp.warnings?.[0]).toMatch(/^sidecar\.istio\.io\/proxyCPU="lots" is not valid: expected a Kubernetes quantity/);
    for (const w of resp.warnings ?? []) expect(w.length).toBeLessThanOrEqual(120);
  });

  it.each([
    ["CronJob", "batch", { spec: { jobTemplate: { spec: { template: { metadata: { annotations: { "sidecar.istio.io/logLevel": "loud" } }, spec: {} } } } } }],
    ["StatefulSet", "apps", { spec: { template: { metadata: { labels: { "sidecar.istio.io/inject": "maybe" } }, spec: {} } } }],
  ])("checks a %s's template", async (kind, group, object) => {
    const resp = responseOf(await post(reviewFor({ apiVersion: `${group}/v1`, kind, metadata: { name: "x" }, ...object }, { kind: { group, version: "v1", kind } })));
    expect(resp.allowed).toBe(true);
    expect(resp.warnings?.length).toBe(1);
  });

  it("says nothing about a clean workload", async () => {
    const resp = responseOf(await post(reviewFor(deploymentWith({ "sidecar.istio.io/proxyCPU": "200m" }), deploymentKind)));
    expect(resp).toMatchObject({ allowed: true, auditAnnotations: { decision: "workload_checked", problems: "0" } });
    expect(resp.warnings).toBeUndefined();
  });

  it("denies when configured to, and does nothing when off", async () => {
    const review = reviewFor(deploymentWith({ "sidecar.istio.io/proxyCPU": "lots" }), deploymentKind);
    for (const [mode, allowed] of [["deny", false], ["off", true]] as const) {
      const ctx = testContext({ workloadValidation: mode });
      const strict = testApp({ context: () => ctx });
      const res = await request(strict).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(review));
      const resp = responseOf(res);
      expect(resp.allowed).toBe(allowed);
      if (!allowed) expect(resp.status).toMatchObject({ code: 422, reason: "Invalid" });
      else expect(resp.warnings).toBeUndefined();
    }
  });
});

describe("health", () => {
  it("GET /healthz is 200", async () => {
    expect((await request(app).get("/healthz")).status).toBe(200);
  });
  it.each([
    [true, false, 200],
    [false, false, 503],
    [true, true, 503],
  ])("GET /readyz ready=%s draining=%s → %i", async (ready, draining, status) => {
    const res = await request(makeApp({ ready, draining })).get("/readyz");
    expect(res.status).toBe(status);
  });
  it("closes connections while draining", async () => {
    const res = await request(makeApp({ draining: true })).get("/healthz");
    expect(res.headers.connection).toBe("close");
  });
});

describe("replaying identical reviews over HTTP", () => {
  it("answers the next identical pod the same way, with its own uid and apiVersion", async () => {
    const { ReplayCache } = await import("../../src/admission/replay-cache.js");
    const replay = new ReplayCache();
    const replaying = testApp({ replay });
    const send = (review: unknown) => request(replaying).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(review));
    const first = await send(reviewFor(aPod(), { uid: "u-1" }));
    const second = await send(reviewFor(aPod(), { uid: "u-2" }));
    const beta = await send(reviewFor(aPod(), { uid: "u-3", apiVersion: "admission.k8s.io/v1beta1" }));
    expect(replay.size).toBe(2);
    expect(second.status).toBe(200);
    expect(responseOf(second)).toEqual({ ...responseOf(first), uid: "u-2" });
    expect(second.body.apiVersion).toBe("admission.k8s.io/v1");
    expect(beta.body.apiVersion).toBe("admission.k8s.io/v1beta1");
    // A malformed review is never answered from the cache.
    const broken = JSON.stringify(reviewFor(aPod(), { uid: "u-4" })).slice(0, -1);
    expect((await request(replaying).post("/inject").set("Content-Type", "application/json").send(broken)).status).toBe(400);
  });
});

describe("large reviews", () => {
  const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
  const manifest = (size: number) => JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "big", annotations: { note: "x".repeat(size) } } });
  const fields = (n: number) => Array.from({ length: n }, (_, i) => ({ manager: `m${i}`, operation: "Update", apiVersion: "v1", fieldsV1: { "f:metadata": { "f:labels": { [`f:l${i}`]: {} } } } }));
  const podWith = (lastApplied: string, managedFields: unknown[]) => aPod({ annotations: { [LAST_APPLIED]: lastApplied, team: "shop" }, metadata: { managedFields } });

  it("answers a 500 KB pod (parsed without managedFields and the last-applied value) as it answers the same pod small", async () => {
    const small = await post(reviewFor(podWith(manifest(10), fields(1)), { uid: "u-s" }));
    const bigBody = JSON.stringify(reviewFor(podWith(manifest(250_000), fields(2000)), { uid: "u-b" }));
    expect(bigBody.length).toBeGreaterThan(400_000);
    const big = await post(bigBody);
    expect(big.status).toBe(200);
    expect({ ...responseOf(big), uid: "u-s" }).toEqual(responseOf(small));
    expect(patchOf(responseOf(big)).length).toBeGreaterThan(5);
  });

  it("answers a small pod with managedFields and a last-applied annotation exactly as a plain parse of it is answered", async () => {
    const body = JSON.stringify(reviewFor(podWith(manifest(10), fields(3)), { uid: "u-p" }));
    const res = await post(body);
    expect(res.status).toBe(200);
    const reference = handleAdmission(parseAdmissionReview(JSON.parse(body)), { context: () => testContext(), logger: silentLogger(), now: () => 0 });
    expect(responseOf(res)).toEqual(reference);
    expect(patchOf(reference).length).toBeGreaterThan(5);
  });

  it("answers a large body that is not JSON with the plain parser's 400", async () => {
    const res = await post(`${JSON.stringify(reviewFor(podWith(manifest(100_000), fields(10)))).slice(0, -3)}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("MALFORMED_JSON");
  });
});
