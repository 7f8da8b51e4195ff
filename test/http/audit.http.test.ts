/** GET /audit on a running injector (auditEndpoint: true), through supertest. */
import { describe, expect, it } from "@jest/globals";
import request from "supertest";
import { auditCluster } from "../../src/audit/audit.js";
import { testApp, testContext } from "../support/builders.js";

const report = auditCluster(
  [
    { kind: "Namespace", metadata: { name: "shop", labels: { "istio-injection": "enabled" } } },
    { kind: "Pod", metadata: { name: "web-1", namespace: "shop" }, spec: { containers: [{ name: "app" }] } },
  ],
  { template: testContext().template },
);

describe("GET /audit", () => {
  it.each([
    ["json", "application/json", '"missing_sidecar"'],
    ["table", "text/plain", "RESTART PLAN"],
    ["yaml", "application/yaml", "code: missing_sidecar"],
  ])("output=%s", async (output, type, text) => {
    const res = await request(testApp({ audit: () => report })).get(`/audit?output=${output}`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain(type);
    expect(res.text).toContain(text);
  });
  it("is 503 until the caches have synced, 404 when off, 400 for an unknown output", async () => {
    expect((await request(testApp({ audit: () => null })).get("/audit")).status).toBe(503);
    expect((await request(testApp()).get("/audit")).status).toBe(404);
    expect((await request(testApp({ audit: () => report })).get("/audit?output=xml")).status).toBe(400);
  });
});
