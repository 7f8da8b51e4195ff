/**
 * Our patches applied by evanphx/json-patch, the library kube-apiserver uses, through a small Go
 * program (test/support/evanphx). .ci/run installs Go and the library from Debian's packages;
 * where they are missing this suite says so and is skipped.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { type Operation, encodePatch } from "../../src/injection/patch.js";
import { runInjection } from "../../src/injection/pipeline.js";
import { aPod, testContext } from "../support/builders.js";
import { GOPATH, type GoBuild, buildGoProgram, hasGo, sayGoSkipped } from "../support/go.js";

const LIBRARY = join(GOPATH, "src", "github.com", "evanphx", "json-patch");
const available = hasGo && existsSync(LIBRARY);
if (!available) sayGoSkipped("test/patch/evanphx", hasGo ? `${LIBRARY} is missing` : "go is not installed");
const suite = available ? describe : describe.skip;

const ROOT = join(import.meta.dirname, "..", "..");
const GOLDEN = join(ROOT, "test", "golden", "testdata", "inject");
let build: GoBuild | undefined;

beforeAll(() => {
  if (available) build = buildGoProgram("evanphx");
}, 120_000);

afterAll(() => build?.cleanup());

interface Case {
  name: string;
  doc: unknown;
  patch: unknown[];
  expected: unknown;
}

function applyAll(cases: Case[]): Array<{ doc?: unknown; error?: string }> {
  // The patch as the webhook sends it: encodePatch's base64 (shared operations spliced into its
  // text), which the Go program decodes as kube-apiserver does, not a JSON.stringify of the
  // operations.
  const input = cases.map((c) => `{"doc":${JSON.stringify(c.doc)},"patch":${JSON.stringify(encodePatch(c.patch as Operation[]))}}`).join("\n");
  const out = execFileSync((build as GoBuild).binary, { input, maxBuffer: 256 * 1024 * 1024 }).toString();
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
    const name = fc.stringMatching(/^[a-z]([a-z0-9-]{0,7}[a-z0-9])?$/);
    const pods = fc.sample(
      fc.record({
        containers: fc.uniqueArray(name, { minLength: 1, maxLength: 4 }),
        init: fc.uniqueArray(name.map((n) => `i-${n}`), { maxLength: 3 }),
        volumes: fc.uniqueArray(name.map((n) => `v-${n}`), { maxLength: 3 }),
        // Keys with and without a prefix ("/" is escaped in the patch's paths), values as labels allow.
        labels: fc.dictionary(fc.stringMatching(/^([a-z0-9]{1,4}(\.[a-z]{1,3})?\/)?[a-z0-9]([a-z0-9._-]{0,6}[a-z0-9])?$/), fc.stringMatching(/^([A-Za-z0-9]([A-Za-z0-9._-]{0,6}[A-Za-z0-9])?)?$/), { maxKeys: 4 }),
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
