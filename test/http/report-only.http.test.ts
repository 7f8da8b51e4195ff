/**
 * Report-only mode: a namespace labelled istio-injection=audit (or policy: audit) gets no patch,
 * but a warning and audit annotations saying what would have been injected, and a count.
 */
import { describe, expect, it } from "@jest/globals";
import request from "supertest";
import type { InjectionContext } from "../../src/injection/pipeline.js";
import { createMetrics } from "../../src/metrics.js";
import { aPod, reviewFor, testApp, testContext } from "../support/builders.js";

function appFor(ctx: InjectionContext) {
  const metrics = createMetrics("test");
  return { app: testApp({ context: () => ctx, metrics }), metrics };
}

async function review(app: ReturnType<typeof testApp>, namespace: string) {
  const res = await request(app).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(aPod(), { namespace })));
  return res.body.response as { allowed: boolean; patch?: string; warnings?: string[]; auditAnnotations?: Record<string, string> };
}

describe("report-only mode", () => {
  it("for a namespace labelled istio-injection=audit: no patch, a warning, audit annotations, a count", async () => {
    const base = testContext();
    const labels: Record<string, Record<string, string>> = { trial: { "istio-injection": "audit" }, shop: { "istio-injection": "enabled" } };
    const { app, metrics } = appFor({ ...base, namespaceLabels: (ns) => labels[ns] });
    const trial = await review(app, "trial");
    expect(trial.allowed).toBe(true);
    expect(trial.patch).toBeUndefined();
    expect(trial.warnings).toEqual([expect.stringMatching(/^Report-only: would inject istio-init, istio-proxy and 9 volumes \(\d+ operations, \d+ bytes\)\.$/)]);
    expect(trial.auditAnnotations).toMatchObject({ decision: "report_only", "would-inject": "istio-init, istio-proxy", "template-hash": base.template.hash });
    expect(Number(trial.auditAnnotations?.["patch-operations"])).toBeGreaterThan(5);
    const shop = await review(app, "shop");
    expect(shop.patch).toBeDefined();
    const text = await metrics.registry.metrics();
    expect(text).toContain('sidecar_injection_skip_total{reason="report_only"} 1');
    expect(text).toContain("sidecar_injection_success_total 1");
  });

  it("for every namespace under policy: audit", async () => {
    const { app } = appFor(testContext({ policy: "audit" }));
    const r = await review(app, "anywhere");
    expect(r.patch).toBeUndefined();
    expect(r.auditAnnotations?.decision).toBe("report_only");
  });

  it("is not applied to pods that opt out", async () => {
    const { app } = appFor(testContext({ policy: "audit" }));
    const res = await request(app)
      .post("/inject")
      .set("Content-Type", "application/json")
      .send(JSON.stringify(reviewFor(aPod({ labels: { "sidecar.istio.io/inject": "false" } }))));
    expect(res.body.response.auditAnnotations.decision).toBe("skip");
    expect(res.body.response.warnings).toBeUndefined();
  });
});
