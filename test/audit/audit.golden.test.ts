/**
 * The audit CLI as a child process over cluster snapshots: report JSON and table goldens, and exit
 * codes. Injected pods in the fixtures say "$CURRENT_TEMPLATE_HASH", replaced by the hash of the
 * embedded configuration before the run, so the fixtures stay current.
 * UPDATE_GOLDEN=1 rewrites the goldens.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { CLI, assertBuilt } from "../support/injector-process.js";
import { testContext } from "../support/builders.js";

const DIR = join(import.meta.dirname, "testdata");
const UPDATE = process.env.UPDATE_GOLDEN === "1";
let work: string;

beforeAll(() => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "audit-"));
  const hash = testContext().template.hash;
  for (const name of ["clean", "findings"]) {
    writeFileSync(join(work, `${name}.json`), readFileSync(join(DIR, `${name}.json`), "utf8").replaceAll("$CURRENT_TEMPLATE_HASH", hash));
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function audit(args: string[]) {
  return spawnSync(process.execPath, [CLI, "audit", ...args], { cwd: work, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
}

function golden(name: string, actual: string): void {
  const path = join(DIR, name);
  if (UPDATE) writeFileSync(path, actual);
  else if (!existsSync(path)) throw new Error(`missing golden ${path}; run UPDATE_GOLDEN=1 npm run test:golden`);
  expect(actual).toBe(readFileSync(path, "utf8"));
}

describe("audit", () => {
  it.each([
    ["clean", "table", 0],
    ["clean", "json", 0],
    ["findings", "table", 3],
    ["findings", "json", 3],
  ])("%s.json -o %s exits %i", (name, output, code) => {
    const r = audit(["--from-file", `${name}.json`, "-o", output]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(code);
    golden(`${name}.${output === "json" ? "report.json" : "table.txt"}`, r.stdout);
  });

  it("finds every finding at least twice, with a restart plan", () => {
    const report = JSON.parse(audit(["--from-file", "findings.json", "-o", "json"]).stdout) as {
      summary: { findings: Record<string, number> };
      restartPlan: string[];
      rollout?: string;
    };
    // The plan points to the command that carries it out safely.
    expect(report.rollout).toMatch(/^sidecar-injector rollout -A plans these restarts/);
    for (const [code, n] of Object.entries(report.summary.findings)) expect({ code, atLeastTwo: n >= 2 }).toEqual({ code, atLeastTwo: true });
    expect(report.restartPlan).toEqual(
      expect.arrayContaining([
        "kubectl rollout restart deployment/web -n shop",
        "kubectl rollout restart statefulset/db -n shop",
        "kubectl rollout restart deployment/cache -n payments",
        "kubectl rollout restart daemonset/agent -n ledger",
      ]),
    );
  });

  it("--fail-on warning gates on warnings too; yaml output", () => {
    const clean = audit(["--from-file", "clean.json", "--fail-on", "warning", "-o", "yaml"]);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toContain("restartPlan: []");
    expect(clean.stdout).not.toContain("rollout:");
  });

  it.each([
    [["--from-file", "nope.json"], 1, "cannot read nope.json"],
    [["-o", "xml", "--from-file", "clean.json"], 2, "-o must be one of table, json, yaml"],
    [["--fail-on", "info", "--from-file", "clean.json"], 2, "--fail-on must be warning or error"],
    [[], 1, "no cluster: set KUBECONFIG"],
  ])("%j exits %i", (args, code, message) => {
    const r = audit(args);
    expect(r.status).toBe(code);
    expect(r.stderr).toContain(message);
  });
});
