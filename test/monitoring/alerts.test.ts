/**
 * manifests/monitoring: the alerts proven with promtool (Debian's prometheus package; .ci/run
 * installs it, best effort, and this suite says it skipped without it), and checked against the
 * code and docs/monitoring.md without it: every alert unit-tested both ways, with a severity, a summary, a
 * description pointing at its runbook in docs/monitoring.md; every metric the rules read is one we export; the
 * component renders onto the base and the fail-open overlay (compared with kubectl kustomize where
 * installed).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";
import request from "supertest";
import { parse as parseYaml, parseAllDocuments, stringify } from "yaml";
import { FINDING_SEVERITY } from "../../src/audit/audit.js";
import { createMetrics } from "../../src/metrics.js";
import { testApp } from "../support/builders.js";
import { validateObject } from "../support/k8s-schema.js";
import { type K8sObject, objectId, podSpecOf, renderKustomization } from "../support/kustomize.js";

const ROOT = join(import.meta.dirname, "..", "..");
const MONITORING = join(ROOT, "manifests", "monitoring");
const TESTS = join(import.meta.dirname, "alerts.promtool.yaml");
type Json = Record<string, any>;

const ruleObject = parseYaml(readFileSync(join(MONITORING, "prometheusrule.yaml"), "utf8")) as Json;
const rules = (ruleObject.spec.groups as Json[]).flatMap((g) => g.rules as Json[]);
const alerts = rules.filter((r) => typeof r.alert === "string");
const unitTests = (parseYaml(readFileSync(TESTS, "utf8")) as Json).tests as Json[];
const readme = readFileSync(join(ROOT, "docs", "monitoring.md"), "utf8");

const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;
if (!hasPromtool) process.stdout.write("test/monitoring: promtool is not installed: `promtool check rules` and `promtool test rules` SKIPPED; .ci/run installs Debian's prometheus package.\n");
const dir = mkdtempSync(join(tmpdir(), "promtool-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the alerts, with promtool", () => {
  const run = hasPromtool ? it : it.skip;
  run("promtool check rules: the rule groups are valid", () => {
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: ruleObject.spec.groups }));
    const r = spawnSync("promtool", ["check", "rules", join(dir, "rules.yaml")], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.status).toBe(0);
  });

  run("promtool test rules: every alert fires and stays silent when it should", () => {
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: ruleObject.spec.groups }));
    copyFileSync(TESTS, join(dir, "alerts.promtool.yaml"));
    const r = spawnSync("promtool", ["test", "rules", join(dir, "alerts.promtool.yaml")], { encoding: "utf8" });
    expect({ status: r.status, output: r.stdout + r.stderr }).toEqual({ status: 0, output: expect.stringContaining("SUCCESS") });
  });
});

describe("the alerts, against the code and docs/monitoring.md", () => {
  it.each(alerts.map((a) => [a.alert as string, a] as const))("%s: unit-tested firing and silent, with a severity, a summary and a runbook", (name, a) => {
    const checks = unitTests.flatMap((t) => (t.alert_rule_test as Json[]).filter((c) => c.alertname === name));
    expect(checks.some((c) => (c.exp_alerts as Json[]).length > 0)).toBe(true);
    expect(checks.some((c) => (c.exp_alerts as Json[]).length === 0)).toBe(true);
    expect(["warning", "critical"]).toContain(a.labels.severity);
    expect(a.annotations.summary).toBeTruthy();
    expect(a.annotations.description).toContain(`docs/monitoring.md: ${name}.`);
    expect(readme).toContain(`#### ${name}`);
  });

  it("the audit alert selects exactly the findings of severity error", () => {
    const audit = alerts.find((a) => a.alert === "SidecarInjectorAuditErrors") as Json;
    const codes = /code=~"([^"]+)"/.exec(audit.expr)?.[1]?.split("|").sort();
    expect(codes).toEqual(Object.entries(FINDING_SEVERITY).filter(([, s]) => s === "error").map(([c]) => c).sort());
  });

  it("metric names: docs/monitoring.md, the dashboard and the rules name only exported metrics, and every metric of ours is documented and shown or alerted on", async () => {
    const metrics = createMetrics("t", { process: true });
    metrics.setHealthSource(() => ({ ready: true, caBundleTrusted: { webhookConfiguration: "sidecar-injector", trusted: true } }));
    metrics.setAuditFindings({ missing_sidecar: 0 });
    const text = (await request(testApp({ metrics })).get("/metrics")).text;
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string] as const);
    const exported = new Set(types.flatMap(([name, type]) => (type === "histogram" ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name])));
    const ours = types.map(([name]) => name).filter((n) => n.startsWith("sidecar_"));
    const names = (t: string) => new Set([...t.matchAll(/\b((?:sidecar_inject(?:ion|or))_[a-z0-9_]*[a-z0-9]|nodejs_[a-z0-9_]*[a-z0-9]|process_[a-z0-9_]*[a-z0-9])\b/g)].map((m) => m[1] as string));
    const dashboardText = readFileSync(join(MONITORING, "dashboard.yaml"), "utf8");
    const rulesText = rules.map((r) => String(r.expr)).join("\n");
    for (const [where, found] of [
      ["docs/monitoring.md", names(readme)],
      ["dashboard", names(dashboardText)],
      ["rules", names(rulesText)],
    ] as const) {
      expect({ where, unknown: [...found].filter((m) => !exported.has(m)) }).toEqual({ where, unknown: [] });
    }
    const shown = new Set([...names(dashboardText), ...names(rulesText)].map((n) => n.replace(/_(bucket|sum|count)$/, "")));
    expect({ undocumented: ours.filter((m) => !names(readme).has(m)) }).toEqual({ undocumented: [] });
    expect({ neitherShownNorAlerted: ours.filter((m) => !shown.has(m)) }).toEqual({ neitherShownNorAlerted: [] });
    expect(ours.length).toBeGreaterThanOrEqual(15);
  });
});

describe("the monitoring component", () => {
  /** A kustomization in a temporary folder: `resources` plus the monitoring component. */
  const withMonitoring = (resource: string): { dir: string; objects: K8sObject[] } => {
    const d = mkdtempSync(join(dir, "k-"));
    const kustomization = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: [relative(d, resource)], components: [relative(d, MONITORING)] };
    writeFileSync(join(d, "kustomization.yaml"), stringify(kustomization));
    return { dir: d, objects: renderKustomization(d) };
  };
  const cases = [
    ["the base", join(ROOT, "manifests", "base")],
    ["the fail-open overlay", join(ROOT, "manifests", "overlays", "fail-open")],
  ] as const;
  const hasKubectl = spawnSync("kubectl", ["version", "--client"]).status === 0;

  it.each(cases)("on %s: adds the ServiceMonitor, the PrometheusRule, the dashboard and the scrape annotations for the metrics port", async (_name, resource) => {
    const { objects } = withMonitoring(resource);
    const deployment = objects.find((o) => o.kind === "Deployment") as Json;
    const container = (podSpecOf(deployment) as Json).containers[0] as Json;
    const metricsPort = (container.ports as Json[]).find((p) => p.name === "http-probes")?.containerPort;
    expect(deployment.spec.template.metadata.annotations).toEqual({ "prometheus.io/scrape": "true", "prometheus.io/port": String(metricsPort), "prometheus.io/path": "/metrics" });
    const service = objects.find((o) => o.kind === "Service") as Json;
    const monitor = objects.find((o) => o.kind === "ServiceMonitor") as Json;
    expect(monitor.spec.selector.matchLabels).toEqual(service.metadata.labels);
    const port = (service.spec.ports as Json[]).find((p) => p.name === monitor.spec.endpoints[0].port) as Json;
    expect(port.targetPort).toBe("http-probes");
    expect(objects.filter((o) => o.kind === "PrometheusRule").map(objectId)).toEqual(["PrometheusRule/sidecar-injector/sidecar-injector"]);
    expect(monitor.metadata.namespace).toBe(deployment.metadata.namespace);
    // Every object valid against its schema: the Kubernetes API's, and the Prometheus Operator's
    // CRD schemas for the ServiceMonitor and the PrometheusRule.
    for (const o of objects) expect({ object: objectId(o), problems: await validateObject(o) }).toEqual({ object: objectId(o), problems: [] });
    // The dashboard: a ConfigMap Grafana's dashboard sidecar picks up, its JSON a dashboard.
    const dashboards = objects.filter((o) => o.kind === "ConfigMap" && o.metadata.labels?.grafana_dashboard === "1") as Json[];
    expect(dashboards).toHaveLength(1);
    const json = JSON.parse(dashboards[0]?.data["sidecar-injector.json"]) as Json;
    expect(json.uid).toBe("sidecar-injector");
    expect((json.panels as Json[]).length).toBeGreaterThanOrEqual(10);
    for (const panel of json.panels as Json[]) expect({ panel: panel.title, datasource: panel.datasource.uid, queries: (panel.targets as Json[]).length > 0 }).toEqual({ panel: panel.title, datasource: "${datasource}", queries: true });
  });

  (hasKubectl ? it.each : it.skip.each)(cases)("on %s: the test renderer gives what kubectl kustomize gives", (_name, resource) => {
    const { dir: d, objects } = withMonitoring(resource);
    const r = spawnSync("kubectl", ["kustomize", d], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    const byId = (list: K8sObject[]) => Object.fromEntries(list.map((o) => [objectId(o), o]));
    expect(byId(objects)).toEqual(byId(parseAllDocuments(r.stdout).map((doc) => doc.toJSON() as K8sObject)));
  });

  it("the schema check catches a broken ServiceMonitor and PrometheusRule", async () => {
    const monitor = parseYaml(readFileSync(join(MONITORING, "servicemonitor.yaml"), "utf8")) as K8sObject & Json;
    monitor.spec.endpoints[0].port = 9090;
    expect(await validateObject(monitor)).toEqual([expect.stringMatching(/endpoints\/0\/port must be string/)]);
    const rule = structuredClone(ruleObject) as K8sObject & Json;
    delete rule.spec.groups[0].rules[0].expr;
    expect(await validateObject(rule)).toEqual([expect.stringMatching(/rules\/0 must have required property '?expr'?/)]);
  });

  it("is off by default: the shipped kustomizations render without it", () => {
    for (const d of [join(ROOT, "manifests"), join(ROOT, "manifests", "overlays", "fail-open")]) {
      expect(renderKustomization(d).some((o) => o.kind === "PrometheusRule")).toBe(false);
    }
  });
});
