/**
 * The reports replica's ServiceMonitor keeps what only it exports (the audit's findings) and its
 * process' series, and drops the rest, so the webhook's alerts count the webhook's replicas only.
 * The keep rule is applied as Prometheus applies it (an anchored regular expression on __name__)
 * to the series a running injector exports.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { parse as parseYaml } from "yaml";
import { createMetrics } from "../../src/metrics.js";
import { renderKustomization } from "../support/kustomize.js";

type Json = Record<string, any>;
const ROOT = join(import.meta.dirname, "..", "..");
const monitor = parseYaml(readFileSync(join(ROOT, "manifests", "monitoring", "servicemonitor-reports.yaml"), "utf8")) as Json;
const rules = parseYaml(readFileSync(join(ROOT, "manifests", "monitoring", "prometheusrule.yaml"), "utf8")) as Json;
const base = renderKustomization(join(ROOT, "manifests", "base"));

describe("the reports replica's ServiceMonitor", () => {
  it("selects the reports Service (and so the reports pods), not the webhook's", () => {
    const services = base.filter((o) => o.kind === "Service") as Json[];
    const selected = services.filter((s) => Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
    expect(selected.map((s) => s.metadata.name)).toEqual(["sidecar-injector-reports"]);
    const port = (selected[0]?.spec.ports as Json[]).find((p) => p.name === monitor.spec.endpoints[0].port);
    expect(port?.targetPort).toBe("http-probes");
  });

  it("keeps the audit's findings and process series, and none of the series the webhook's alerts count", async () => {
    const metrics = createMetrics("0.0.0-test", { process: true });
    metrics.setAuditFindings({ missing_sidecar: 2, stale_sidecar: 0, unexpected_sidecar: 0, invalid_annotation: 0, podsecurity_conflict: 0, opt_out_in_enabled_namespace: 0, webhook_config: 0, webhook_conflict: 0 });
    const exported = [...new Set((await metrics.registry.metrics()).split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0] ?? ""))];
    const keep = monitor.spec.endpoints[0].metricRelabelings as Json[];
    expect(keep).toHaveLength(1);
    expect(keep[0]).toMatchObject({ sourceLabels: ["__name__"], action: "keep" });
    const anchored = new RegExp(`^(?:${keep[0]?.regex as string})$`);
    const kept = exported.filter((name) => anchored.test(name));
    expect(kept).toContain("sidecar_injector_audit_findings");
    expect(kept).toContain("process_resident_memory_bytes");
    const alertSeries = new Set(
      (rules.spec.groups as Json[]).flatMap((g) => (g.rules as Json[]).flatMap((r) => [...String(r.expr).matchAll(/\b(sidecar_[a-z_]+)/g)].map((m) => (m[1] as string).replace(/_(bucket|sum|count)$/, "")))),
    );
    const keptByAlerts = [...alertSeries].filter((s) => kept.some((k) => k === s || k.startsWith(`${s}_`)));
    expect(keptByAlerts).toEqual(["sidecar_injector_audit_findings"]);
  });
});
