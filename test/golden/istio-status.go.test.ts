/**
 * What we write into a pod for Istio's Go code to read, read by Go into the structs Istio reads it
 * into (test/support/istio-status: unknown fields refused, encoded again with encoding/json): the
 * sidecar.istio.io/status annotation (Istio 1.30's five fields; byte for byte), the
 * proxy.istio.io/overrides annotation (istiod's ParsedContainers) and the proxy env
 * ISTIO_PROMETHEUS_ANNOTATIONS (pilot-agent's PrometheusScrapeConfiguration; byte for byte), from
 * every injected golden. Needs Go (.ci/run installs it); says it skipped without.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type GoBuild, buildGoProgram, hasGo, sayGoSkipped } from "../support/go.js";

const DIR = join(import.meta.dirname, "testdata", "inject");

if (!hasGo) sayGoSkipped("test/golden/istio-status.go", "go is not installed");
const suite = hasGo ? describe : describe.skip;

/** The status annotation of every golden whose decision injected, by case name. */
function injectedStatuses(): Array<[string, string]> {
  return readdirSync(DIR)
    .filter((f) => f.endsWith(".decision.json"))
    .flatMap((f): Array<[string, string]> => {
      const name = f.slice(0, -".decision.json".length);
      const decision = JSON.parse(readFileSync(join(DIR, f), "utf8")) as { verdict: string };
      if (decision.verdict !== "inject") return [];
      const pod = JSON.parse(readFileSync(join(DIR, `${name}.injected.json`), "utf8")) as { metadata: { annotations: Record<string, string> } };
      const status = pod.metadata.annotations["sidecar.istio.io/status"];
      return status === undefined ? [] : [[name, status]];
    });
}

interface GoldenPod {
  metadata: { annotations: Record<string, string> };
  spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }>; initContainers?: GoldenPod["spec"]["containers"] };
}

/** Every injected golden pod, by case name. */
function injectedPods(): Array<[string, GoldenPod]> {
  return injectedStatuses().map(([name]) => [name, JSON.parse(readFileSync(join(DIR, `${name}.injected.json`), "utf8")) as GoldenPod]);
}

/** Runs the Go reader in a mode over texts; one output line per text. */
function goRead(mode: string, texts: readonly string[]): string[] {
  const r = spawnSync((go as GoBuild).binary, [mode], { input: `${texts.map((t) => JSON.stringify(t)).join("\n")}\n`, encoding: "utf8" });
  expect(r.status).toBe(0);
  return r.stdout.trimEnd().split("\n");
}

let go: GoBuild | undefined;
beforeAll(() => {
  if (hasGo) go = buildGoProgram("istio-status");
}, 120_000);
afterAll(() => go?.cleanup());

suite("sidecar.istio.io/status as Istio's Go code reads it", () => {
  it("every injected golden's annotation is exactly what Go encodes from it", () => {
    const statuses = injectedStatuses();
    expect(statuses.length).toBeGreaterThan(30);
    // Native (containers null), classic, CNI and pull-secret cases are all among them.
    expect(statuses.some(([, s]) => s.includes('"containers":null'))).toBe(true);
    expect(statuses.some(([, s]) => s.includes('"imagePullSecrets":["'))).toBe(true);
    const r = spawnSync((go as GoBuild).binary, [], { input: `${statuses.map(([, s]) => JSON.stringify(s)).join("\n")}\n`, encoding: "utf8" });
    expect(r.status).toBe(0);
    const back = r.stdout.trimEnd().split("\n");
    expect(statuses.map(([name], i) => [name, back[i]])).toEqual(statuses.map(([name, s]) => [name, s]));
  });

  it("Go refuses what Istio's struct does not have (the record older versions of ours wrote)", () => {
    const older = '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":null,"imagePullSecrets":null,"revision":"default","templateHash":"0123456789ab"}';
    const r = spawnSync((go as GoBuild).binary, [], { input: `${JSON.stringify(older)}\n`, encoding: "utf8" });
    expect(r.stdout).toMatch(/^error: json: unknown field "templateHash"/);
  });

  it("proxy.istio.io/overrides reads as istiod's ParsedContainers (and the format before 0.3 would not)", () => {
    const overrides = injectedPods().flatMap(([name, pod]): Array<[string, string]> => {
      const text = pod.metadata.annotations["proxy.istio.io/overrides"];
      return text === undefined ? [] : [[name, text]];
    });
    expect(overrides.length).toBeGreaterThanOrEqual(5);
    // Native (initContainers) and classic (containers) records are both among them.
    expect(overrides.some(([, t]) => t.startsWith('{"initContainers"'))).toBe(true);
    expect(overrides.some(([, t]) => t.startsWith('{"containers"'))).toBe(true);
    const back = goRead("overrides", overrides.map(([, t]) => t));
    // Go re-encodes containers as maps (sorted keys): compare as values.
    expect(overrides.map(([name], i) => [name, JSON.parse(back[i] ?? "null")])).toEqual(overrides.map(([name, t]) => [name, JSON.parse(t)]));
    expect(goRead("overrides", ['{"name":"istio-proxy","image":"my/envoy:1"}'])).toEqual(['error: json: unknown field "name"']);
  });

  it("ISTIO_PROMETHEUS_ANNOTATIONS reads as pilot-agent's PrometheusScrapeConfiguration, byte for byte", () => {
    const values = injectedPods().flatMap(([name, pod]): Array<[string, string]> =>
      [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]
        .flatMap((c) => c.env ?? [])
        .filter((e) => e.name === "ISTIO_PROMETHEUS_ANNOTATIONS")
        .map((e): [string, string] => [name, e.value ?? ""]),
    );
    expect(values.length).toBeGreaterThanOrEqual(2);
    const back = goRead("prometheus", values.map(([, v]) => v));
    expect(values.map(([name], i) => [name, back[i]])).toEqual(values);
  });
});
