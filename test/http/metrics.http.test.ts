/**
 * GET /metrics after a scripted series of reviews: counts and labels exact.
 */
import { describe, expect, it } from "@jest/globals";
import fjp from "fast-json-patch";
import request from "supertest";
import { type HealthFacts, createMetrics } from "../../src/metrics.js";
import { aPod, reviewFor, testApp } from "../support/builders.js";

function metricLines(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("sidecar_"));
}

describe("GET /metrics", () => {
  it("counts every review by result and reason", async () => {
    const metrics = createMetrics("1.2.3");
    const app = testApp({ metrics });
    const post = (review: unknown) => request(app).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(review));

    const first = await post(reviewFor(aPod()));
    const injected = fjp.applyPatch(aPod(), JSON.parse(Buffer.from(first.body.response.patch, "base64").toString()) as fjp.Operation[]).newDocument;
    await post(reviewFor(aPod({ metadata: { name: "second" } })));
    await post(reviewFor(aPod({ labels: { "sidecar.istio.io/inject": "false" } })));
    await post(reviewFor(aPod({ spec: { hostNetwork: true } })));
    // Opted in, but a name conflict skips it: counted under the skip, not the opt-in.
    await post(reviewFor(aPod({ labels: { "sidecar.istio.io/inject": "true" }, spec: { volumes: [{ name: "istio-data" }] } })));
    await post(reviewFor(injected));
    await post(reviewFor(aPod({ annotations: { "sidecar.istio.io/proxyCPU": "lots" } })));
    await post(reviewFor(aPod(), { kind: { group: "example.com", version: "v1", kind: "Widget" } }));
    await post(
      reviewFor(
        { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" }, spec: { template: { metadata: {}, spec: { containers: [{ name: "a" }] } } } },
        { kind: { group: "apps", version: "v1", kind: "Deployment" } },
      ),
    );
    metrics.configReload("success");
    metrics.setCertificateExpiry(new Date("2027-01-01T00:00:00Z"), new Date("2036-01-01T00:00:00Z"));

    const res = await request(app).get("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    const lines = metricLines(res.text);
    expect(lines).toEqual(
      expect.arrayContaining([
        "sidecar_injection_requests_total 9",
        "sidecar_injection_success_total 2",
        'sidecar_injection_skip_total{reason="pod_label_disabled"} 1',
        'sidecar_injection_skip_total{reason="host_network"} 1',
        'sidecar_injection_skip_total{reason="volume_name_conflict"} 1',
        'sidecar_injection_skip_total{reason="already_injected"} 1',
        'sidecar_injection_skip_total{reason="not_a_pod"} 1',
        'sidecar_injection_skip_total{reason="workload_checked"} 1',
        'sidecar_injection_failure_total{reason="invalid_annotation"} 1',
        "sidecar_injection_time_seconds_count 9",
        'sidecar_injector_config_reloads_total{result="success"} 1',
        'sidecar_injector_config_reloads_total{result="failure"} 0',
        "sidecar_injector_config_last_reload_successful 1",
        'sidecar_injector_certificate_expiry_timestamp_seconds{certificate="serving"} 1798761600',
        'sidecar_injector_certificate_expiry_timestamp_seconds{certificate="ca"} 2082758400',
        `sidecar_injector_build_info{version="1.2.3",node="${process.version}"} 1`,
      ]),
    );
    expect(lines.filter((l) => l.startsWith("sidecar_injection_skip_total{"))).toHaveLength(6);
  });

  it("exports the process's memory, heap and event-loop figures only when asked to", async () => {
    const bare = await request(testApp({ metrics: createMetrics("t") })).get("/metrics");
    expect(bare.text).not.toContain("process_resident_memory_bytes");
    const res = await request(testApp({ metrics: createMetrics("t", { process: true }) })).get("/metrics");
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(res.text)?.[1]);
    expect(value("process_resident_memory_bytes")).toBeGreaterThan(10 * 2 ** 20);
    expect(value("nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(value("nodejs_external_memory_bytes")).toBeGreaterThan(0);
    expect(res.text).toContain("nodejs_eventloop_lag_p99_seconds");
    expect(res.text).toContain("sidecar_injector_build_info{");
  });

  it("exports readiness and the caBundle's trust, read at each scrape", async () => {
    const metrics = createMetrics("t");
    const app = testApp({ metrics });
    const scrape = async () => metricLines((await request(app).get("/metrics")).text).filter((l) => /^sidecar_injector_(ready|ca_bundle_trusted)[ {]/.test(l));
    expect(await scrape()).toEqual(["sidecar_injector_ready 0"]);
    let facts: HealthFacts = { ready: true, caBundleTrusted: { webhookConfiguration: "sidecar-injector", trusted: true } };
    metrics.setHealthSource(() => facts);
    expect(await scrape()).toEqual(["sidecar_injector_ready 1", 'sidecar_injector_ca_bundle_trusted{webhook_configuration="sidecar-injector"} 1']);
    facts = { ready: false, caBundleTrusted: { webhookConfiguration: "sidecar-injector", trusted: false } };
    expect(await scrape()).toEqual(["sidecar_injector_ready 0", 'sidecar_injector_ca_bundle_trusted{webhook_configuration="sidecar-injector"} 0']);
    facts = { ready: true, caBundleTrusted: null };
    expect(await scrape()).toEqual(["sidecar_injector_ready 1"]);
  });

  it("is 404 without metrics", async () => {
    expect((await request(testApp()).get("/metrics")).status).toBe(404);
  });
});
