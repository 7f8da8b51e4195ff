/**
 * The sidecar.istio.io/status annotation we write, read by Go the way Istio's own code reads it
 * (test/support/istio-status: Istio 1.30's five fields, unknown fields refused, encoded again with
 * encoding/json): every injected golden's annotation must come back byte for byte. Needs Go
 * (.ci/run installs it); says it skipped without.
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
});
