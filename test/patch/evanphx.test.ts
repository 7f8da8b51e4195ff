/**
 * Our patches applied by evanphx/json-patch, the library kube-apiserver uses, through a small Go
 * program (test/support/evanphx). .ci/run installs Go and the library from Debian's packages;
 * where they are missing this suite says so and is skipped.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { runInjection } from "../../src/injection/pipeline.js";
import { aPod, testContext } from "../support/builders.js";

const GOPATH = "/usr/share/gocode";
const LIBRARY = join(GOPATH, "src", "github.com", "evanphx", "json-patch");
const hasGo = spawnSync("go", ["version"]).status === 0;
const available = hasGo && existsSync(LIBRARY);
if (!available) {
  process.stdout.write(
    `test/patch/evanphx: SKIPPED — ${hasGo ? `${LIBRARY} is missing` : "go is not installed"}; .ci/run installs golang-go and golang-github-evanphx-json-patch-dev.\n`,
  );
}
const suite = available ? describe : describe.skip;

const ROOT = join(import.meta.dirname, "..", "..");
const GOLDEN = join(ROOT, "test", "golden", "testdata", "inject");
let dir: string;
let binary: string;

beforeAll(() => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), "evanphx-"));
  binary = join(dir, "evanphx-apply");
  execFileSync("go", ["build", "-o", binary, join(ROOT, "test", "support", "evanphx", "main.go")], {
    env: { ...process.env, GO111MODULE: "off", GOPATH, GOCACHE: join(dir, "cache"), GOFLAGS: "" },
    stdio: "pipe",
  });
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Case {
  name: string;
  doc: unknown;
  patch: unknown[];
  expected: unknown;
}

function applyAll(cases: Case[]): Array<{ doc?: unknown; error?: string }> {
  const input = cases.map((c) => JSON.stringify({ doc: c.doc, patch: c.patch })).join("\n");
  const out = execFileSync(binary, { input, maxBuffer: 256 * 1024 * 1024 }).toString();
  return out
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { doc?: unknown; error?: string });
}

function caseFor(name: string, pod: unknown, native?: boolean): Case {
  const result = runInjection(
    { request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "default", object: pod },
    testContext(native === undefined ? undefined : { nativeSidecars: native ? "true" : "false" }),
  );
  return { name, doc: pod, patch: [...result.patch], expected: result.mutated };
}

suite("patches applied by evanphx/json-patch", () => {
  it("every golden case", () => {
    const cases = readdirSync(GOLDEN)
      .filter((f) => f.endsWith(".pod.json"))
      .filter((f) => !existsSync(join(GOLDEN, f.replace(".pod.json", ".params.json"))))
      .map((f) => {
        const pod = JSON.parse(readFileSync(join(GOLDEN, f), "utf8")) as unknown;
        try {
          return caseFor(f, pod);
        } catch {
          return null; // denied pods have no patch
        }
      })
      .filter((c): c is Case => c !== null && c.patch.length > 0);
    expect(cases.length).toBeGreaterThan(15);
    const results = applyAll(cases);
    results.forEach((r, i) => {
      const c = cases[i] as Case;
      expect({ name: c.name, error: r.error }).toEqual({ name: c.name, error: undefined });
      const expected = structuredClone(c.expected) as { metadata?: Record<string, unknown> };
      const managed = (c.doc as { metadata?: { managedFields?: unknown } }).metadata?.managedFields;
      if (managed !== undefined && expected.metadata) expected.metadata.managedFields = managed;
      expect(r.doc).toEqual(expected);
    });
  });

  it("generated pods, classic and native", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
    const pods = fc.sample(
      fc.record({
        containers: fc.uniqueArray(name, { minLength: 1, maxLength: 4 }),
        init: fc.uniqueArray(name.map((n) => `i-${n}`), { maxLength: 3 }),
        volumes: fc.uniqueArray(name.map((n) => `v-${n}`), { maxLength: 3 }),
        labels: fc.dictionary(fc.stringMatching(/^[a-z./~-]{1,12}$/), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
        native: fc.boolean(),
      }),
      150,
    );
    const cases = pods.map((p, i) =>
      caseFor(
        `generated-${i}`,
        aPod({
          labels: p.labels,
          spec: {
            containers: p.containers.map((n) => ({ name: n, image: "x" })),
            ...(p.init.length > 0 && { initContainers: p.init.map((n) => ({ name: n, image: "x" })) }),
            ...(p.volumes.length > 0 && { volumes: p.volumes.map((n) => ({ name: n, emptyDir: {} })) }),
          },
        }),
        p.native,
      ),
    );
    const results = applyAll(cases);
    results.forEach((r, i) => {
      expect(r.error).toBeUndefined();
      expect(r.doc).toEqual((cases[i] as Case).expected);
    });
  });
});
