/** GET /audit on a running injector (auditEndpoint: true), through supertest, as a cluster viewer. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import request from "supertest";
import { type AuditReport, auditCluster } from "../../src/audit/audit.js";
import { testApp, testContext } from "../support/builders.js";
import { Callers, type ReportAuth, bearer, startReportAuth } from "../support/report-auth.js";

const report = auditCluster(
  [
    { kind: "Namespace", metadata: { name: "shop", labels: { "istio-injection": "enabled" } } },
    { kind: "Pod", metadata: { name: "web-1", namespace: "shop" }, spec: { containers: [{ name: "app" }] } },
  ],
  { template: testContext().template },
);

let auth: ReportAuth;
beforeAll(async () => {
  auth = await startReportAuth();
});
afterAll(() => auth.fake.close());

/** GET as a caller who may list pods cluster-wide. */
const get = (audit: (() => AuditReport | null) | undefined, path: string) =>
  request(testApp(audit === undefined ? {} : { audit, authorize: auth.authorize }))
    .get(path)
    .set("Authorization", bearer(Callers.viewer));

describe("GET /audit", () => {
  it.each([
    ["json", "application/json", '"missing_sidecar"'],
    ["table", "text/plain", "RESTART PLAN"],
    ["yaml", "application/yaml", "code: missing_sidecar"],
  ])("output=%s", async (output, type, text) => {
    const res = await get(() => report, `/audit?output=${output}`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain(type);
    expect(res.text).toContain(text);
  });
  it("is 503 until the caches have synced, 404 when off, 400 for an unknown output", async () => {
    expect((await get(() => null, "/audit")).status).toBe(503);
    expect((await get(undefined, "/audit")).status).toBe(404);
    expect((await get(() => report, "/audit?output=xml")).status).toBe(400);
  });
});
