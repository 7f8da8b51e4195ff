/** GET /explain on a running injector (auditEndpoint: true), through supertest as a cluster viewer: query checks, outputs, errors. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import request from "supertest";
import { type ExplainReport, type ExplainTarget, explainCluster } from "../../src/explain/cluster.js";
import { testApp, testContext } from "../support/builders.js";
import { Callers, type ReportAuth, bearer, startReportAuth } from "../support/report-auth.js";

const objects = [
  { kind: "Namespace", metadata: { name: "shop", labels: { "istio-injection": "enabled" } } },
  {
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop" },
    spec: { template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }] } } },
  },
  { kind: "Pod", metadata: { name: "debug", namespace: "shop" }, spec: { containers: [{ name: "debug", image: "busybox" }] } },
];
const context = testContext();
const targets: ExplainTarget[] = [];
const explain = (target: ExplainTarget) => {
  targets.push(target);
  return explainCluster(objects, target, { context, webhookConfigsListed: false });
};

let auth: ReportAuth;
beforeAll(async () => {
  auth = await startReportAuth();
});
afterAll(() => auth.fake.close());

/** GET as a caller who may list pods cluster-wide. */
const get = (path: string, serve: ((target: ExplainTarget) => ExplainReport | null) | null = explain) =>
  request(testApp(serve === null ? {} : { explain: serve, authorize: auth.authorize }))
    .get(path)
    .set("Authorization", bearer(Callers.viewer));

describe("GET /explain", () => {
  it.each([
    ["json", "application/json", '"decision":"inject"'],
    ["table", "text/plain", "Deployment/shop/web (judged by its pod template)"],
    ["yaml", "application/yaml", "decision: inject"],
  ])("output=%s", async (output, type, text) => {
    const res = await get(`/explain?namespace=shop&kind=deployment&name=web&output=${output}`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain(type);
    expect(res.text).toContain(text);
  });

  it("passes the target as the CLI does: one object, a namespace, or every namespace", async () => {
    targets.length = 0;
    await get("/explain?namespace=shop&kind=Deploy&name=web");
    await get("/explain?namespace=shop");
    await get("/explain");
    expect(targets).toEqual([{ namespace: "shop", kind: "Deployment", name: "web" }, { namespace: "shop" }, { namespace: null }]);
    const all = await get("/explain");
    expect(all.body.objects.map((o: { object: string }) => o.object)).toEqual(["Deployment/shop/web", "Pod/shop/debug"]);
  });

  it.each([
    ["kind without name", "/explain?namespace=shop&kind=deployment", 400, "kind and name go together"],
    ["name without namespace", "/explain?kind=pod&name=x", 400, "need a namespace"],
    ["an unknown kind", "/explain?namespace=shop&kind=cronjob&name=x", 400, "kind must be one of"],
    ["a prototype key as kind", "/explain?namespace=shop&kind=constructor&name=x", 400, "kind must be one of"],
    ["an empty namespace", "/explain?namespace=", 400, "must not be empty"],
    ["an unknown output", "/explain?output=xml", 400, "output must be one of"],
    ["an object not in the cluster", "/explain?namespace=shop&kind=deployment&name=nope", 404, "deployment/nope not found in namespace shop"],
  ])("%s", async (_name, path, status, message) => {
    const res = await get(path);
    expect(res.status).toBe(status);
    expect(res.body.message).toContain(message);
  });

  it("is 503 until the caches have synced, 404 when off", async () => {
    expect((await get("/explain", () => null)).body.code).toBe("NOT_READY");
    expect((await get("/explain", null)).status).toBe(404);
  });
});
