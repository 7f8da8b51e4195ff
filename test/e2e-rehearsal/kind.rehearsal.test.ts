/**
 * Rehearses `npm run e2e:kind` (test/e2e/kind/) here, where no container engine runs: `docker`
 * and `kind` are stand-ins on PATH that record their arguments, and the "cluster" that kind
 * creates is the in-process API server (its kubeconfig is what the stand-in writes). The runner
 * then runs the real certificate suite against it, exactly as it would against kind.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { REQUIRED_TOOLS } from "../e2e/kind/plan.js";
import { runKindE2e } from "../e2e/kind/run.js";
import { type FakeApiServer, startFakeApiServer, writeKubeconfig } from "../support/fake-apiserver.js";

const ROOT = join(import.meta.dirname, "..", "..");
let api: FakeApiServer;
let dir: string;

beforeAll(async () => {
  api = await startFakeApiServer({ version: { major: "1", minor: "31", gitVersion: "v1.31.0" } });
  dir = mkdtempSync(join(tmpdir(), "kind-rehearsal-"));
  writeKubeconfig(join(dir, "cluster-kubeconfig"), api.url, "kind");
});

afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A bin folder with stand-ins for `tools`: each appends its arguments to calls.log; `kind create
 * cluster --kubeconfig F` writes the in-process API server's kubeconfig to F; `failOn` makes the
 * stand-in whose first arguments are those words exit 1.
 */
function standIns(name: string, tools: readonly string[], failOn = ""): { bin: string; calls: () => string[] } {
  const bin = join(dir, name);
  const log = join(bin, "calls.log");
  rmSync(bin, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  writeFileSync(log, "");
  for (const tool of tools) {
    const script = `#!/bin/sh
echo "${tool} $*" >> "${log}"
case "${tool} $*" in
  "${failOn}"*) [ -n "${failOn}" ] && exit 1 ;;
esac
if [ "${tool}" = kind ] && [ "$1" = create ]; then
  while [ $# -gt 0 ]; do
    if [ "$1" = --kubeconfig ]; then cp "${join(dir, "cluster-kubeconfig")}" "$2"; fi
    shift
  done
fi
exit 0
`;
    writeFileSync(join(bin, tool), script);
    chmodSync(join(bin, tool), 0o755);
  }
  return { bin, calls: () => readFileSync(log, "utf8").split("\n").filter(Boolean) };
}

async function rehearse(bin: string, env: Record<string, string> = {}) {
  const lines: string[] = [];
  let output = "";
  const code = await runKindE2e(["certificates"], {
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`, ...env },
    print: (l) => lines.push(l),
    cwd: ROOT,
    output: (chunk) => (output += chunk),
  });
  return { code, out: lines.join("\n"), output };
}

describe("npm run e2e:kind, rehearsed", () => {
  it("creates the cluster, builds and loads the image, runs the suites against it, and deletes it", async () => {
    const { bin, calls } = standIns("ok", REQUIRED_TOOLS);
    const { code, out, output } = await rehearse(bin);
    expect(out).toContain("==> e2e:kind passed");
    expect(code).toBe(0);
    // `npm run test:e2e -- certificates` ran the real certificate suite, and only it.
    expect(output).toMatch(/PASS test\/e2e\/certificates\.e2e\.test\.ts/);
    expect(output).not.toContain("cluster.e2e");
    expect(output).toMatch(/jest: [1-9]\d* passed, 0 failed, 0 skipped/);
    const made = calls();
    expect(made).toEqual([
      "docker info --format {{.ServerVersion}}",
      expect.stringMatching(/^kind create cluster --name sidecar-injector-e2e --kubeconfig \S+\/kubeconfig --wait 180s$/),
      `docker build -t sidecar-injector:e2e ${ROOT}`,
      "kind load docker-image sidecar-injector:e2e --name sidecar-injector-e2e",
      "kind delete cluster --name sidecar-injector-e2e",
    ]);
    // The suite ran against the "cluster" kind created: it touched the in-process API server.
    expect(api.requests.some((r) => r.includes("/leases"))).toBe(true);
  }, 240_000);

  it("a failing step stops the run, the cluster is deleted anyway, and the exit code is the step's", async () => {
    const { bin, calls } = standIns("fail", REQUIRED_TOOLS, "docker build");
    const { code, out } = await rehearse(bin, { E2E_KIND_CLUSTER: "other", E2E_KIND_NODE_IMAGE: "kindest/node:v1.31.0" });
    expect(code).toBe(1);
    expect(out).toContain("==> failed (exit 1): build the image sidecar-injector:e2e");
    expect(calls()).toEqual([
      "docker info --format {{.ServerVersion}}",
      expect.stringMatching(/^kind create cluster --name other --kubeconfig \S+ --wait 180s --image kindest\/node:v1\.31\.0$/),
      `docker build -t sidecar-injector:e2e ${ROOT}`,
      "kind delete cluster --name other",
    ]);
  });

  it("without kind on PATH it says what it needs and does nothing", async () => {
    const { bin, calls } = standIns("no-kind", ["docker"]);
    const lines: string[] = [];
    expect(await runKindE2e([], { env: { PATH: bin }, print: (l) => lines.push(l), cwd: ROOT })).toBe(2);
    expect(calls()).toEqual([]);
    expect(lines).toEqual(["e2e:kind needs kind on PATH (Docker with a running engine, and kind, sigs.k8s.io/kind). Nothing was done."]);
  });
});
