/**
 * The dashboard and the alerts against a real Prometheus (Debian's prometheus package; .ci/run
 * installs it, best effort, and this suite says it skipped without it): the built injector serves
 * reviews (injected, skipped, replayed, denied) while Prometheus scrapes its plain metrics port on
 * loopback and evaluates the rules. Then every dashboard query must return data, every metric and
 * label the rules select must exist, and every rule must evaluate without error. What cannot have
 * data in this run (no cluster here) is listed with the reason.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { parse as parseYaml, stringify } from "yaml";
import { aPod, reviewFor } from "../support/builders.js";
import { type Started, assertBuilt, cleanupInjectors, freePort, postReview, sleep, startInjector, waitFor } from "../support/injector-process.js";

const ROOT = join(import.meta.dirname, "..", "..");
const MONITORING = join(ROOT, "manifests", "monitoring");
type Json = Record<string, any>;

const hasPrometheus = spawnSync("prometheus", ["--version"]).status === 0;
if (!hasPrometheus) process.stdout.write("test/monitoring/prometheus: SKIPPED — prometheus is not installed; .ci/run installs Debian's prometheus package.\n");
const suite = hasPrometheus ? describe : describe.skip;

/** Metrics that cannot have samples in this run, and why. */
const KNOWN_ABSENT: Readonly<Record<string, string>> = {
  sidecar_injector_ca_bundle_trusted: "exported only in self-managed TLS mode, which needs a cluster (the Secret, Lease and webhook configuration)",
  sidecar_injector_audit_findings: "exported only with auditEndpoint: true and a cluster to audit",
};

const rules = (parseYaml(readFileSync(join(MONITORING, "prometheusrule.yaml"), "utf8")) as Json).spec.groups as Json[];
const dashboard = JSON.parse((parseYaml(readFileSync(join(MONITORING, "dashboard.yaml"), "utf8")) as Json).data["sidecar-injector.json"]) as Json;
const panelQueries: Array<[string, string]> = (dashboard.panels as Json[]).flatMap((p) => (p.targets as Json[]).map((t) => [p.title as string, t.expr as string] as [string, string]));

/** The metric names an expression selects, each with the label names its matchers and groupings use. */
function selectorsOf(expr: string): Array<{ metric: string; labels: string[] }> {
  const out: Array<{ metric: string; labels: string[] }> = [];
  for (const m of expr.matchAll(/\b((?:sidecar|nodejs|process)_[a-z0-9_]+)\b(\{([^}]*)\})?/g)) {
    const labels = [...(m[3] ?? "").matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1] as string);
    out.push({ metric: m[1] as string, labels });
  }
  return out;
}

suite("the dashboard and the alerts against a real Prometheus scraping the injector", () => {
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  let injector: Started;
  let promLog = "";

  const query = async (q: string): Promise<Json> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as Json;
    if (body.status !== "success") throw new Error(`${q}: ${body.error ?? res.status}`);
    return body.data;
  };

  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), "prometheus-"));
    const metricsPort = await freePort();
    injector = await startInjector({ server: { metricsPort, host: "127.0.0.1" } });
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: rules }));
    writeFileSync(
      join(dir, "prometheus.yml"),
      stringify({
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: [join(dir, "rules.yaml")],
        // The labels the Prometheus Operator puts on a ServiceMonitor's targets.
        scrape_configs: [{ job_name: "sidecar-injector", static_configs: [{ targets: [`127.0.0.1:${metricsPort}`], labels: { namespace: "sidecar-injector", pod: "sidecar-injector-0" } }] }],
      }),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
    prometheus.stdout?.on("data", (d: Buffer) => (promLog += d.toString()));
    prometheus.stderr?.on("data", (d: Buffer) => (promLog += d.toString()));
    const ready = await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => null))?.status === 200, 30_000);
    if (!ready) throw new Error(`prometheus did not start:\n${promLog}`);

    // Reviews of every kind: injected, skipped (opt-out), replayed (the same review again), denied.
    const pod = reviewFor(aPod());
    await postReview(injector, pod);
    await postReview(injector, pod);
    await postReview(injector, reviewFor(aPod({ labels: { "sidecar.istio.io/inject": "false" } })));
    await postReview(injector, reviewFor(aPod({ annotations: { "sidecar.istio.io/proxyCPU": "lots" } })));
    // Two scrapes after the reviews, so rate() has two samples that differ.
    const scraped = await waitFor(async () => {
      const r = await query("sidecar_injection_requests_total");
      return Number(r.result?.[0]?.value?.[1] ?? 0) >= 4;
    }, 30_000);
    if (!scraped) throw new Error(`no scrape of the injector:\n${promLog}`);
    await sleep(2500);
  }, 90_000);

  afterAll(async () => {
    prometheus?.kill("SIGTERM");
    await new Promise((r) => (prometheus && prometheus.exitCode === null ? prometheus.on("exit", r) : r(null)));
    cleanupInjectors();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("scrapes the injector", async () => {
    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as Json;
    expect(targets.data.activeTargets.map((t: Json) => t.health)).toEqual(["up"]);
  });

  it.each(panelQueries)("dashboard panel %s: %s returns data", async (_title, expr) => {
    const absent = selectorsOf(expr).find((s) => KNOWN_ABSENT[s.metric]);
    const data = await query(expr);
    if (absent) {
      // Known empty here (see KNOWN_ABSENT); the query must still be valid PromQL.
      expect(data.result).toEqual([]);
      return;
    }
    expect(data.result.length).toBeGreaterThan(0);
  });

  it.each(rules.flatMap((g) => (g.rules as Json[]).map((r) => [r.alert as string, r.expr as string] as [string, string])))(
    "alert %s selects only metrics and labels the injector exports",
    async (_alert, expr) => {
      for (const { metric, labels } of selectorsOf(expr)) {
        if (KNOWN_ABSENT[metric]) continue;
        const series = (await query(`count by (__name__) ({__name__="${metric}"})`)).result as Json[];
        expect({ metric, exported: series.length > 0 }).toEqual({ metric, exported: true });
        for (const label of labels.filter((l) => l !== "__name__")) {
          const withLabel = (await query(`count(${metric}{${label}!=""})`)).result as Json[];
          expect({ metric, label, present: withLabel.length > 0 }).toEqual({ metric, label, present: true });
        }
      }
    },
  );

  it("every rule evaluates without error, and the healthy injector fires only what this run explains", async () => {
    const groups = ((await (await fetch(`${promUrl}/api/v1/rules`)).json()) as Json).data.groups as Json[];
    const loaded = groups.flatMap((g) => g.rules as Json[]);
    expect(loaded.map((r) => r.name).sort()).toEqual(rules.flatMap((g) => (g.rules as Json[]).map((r) => r.alert)).sort());
    expect(await waitFor(async () => {
      const now = ((await (await fetch(`${promUrl}/api/v1/rules`)).json()) as Json).data.groups.flatMap((g: Json) => g.rules) as Json[];
      return now.every((r) => r.health === "ok" && r.lastEvaluation !== "0001-01-01T00:00:00Z");
    }, 15_000)).toBe(true);
    const active = loaded.filter((r) => r.state !== "inactive").map((r) => r.name);
    // One replica runs here: fewer than two ready replicas is true (pending, as it needs 5 minutes).
    expect(active).toEqual(["SidecarInjectorTooFewReadyReplicas"]);
  });
});
