/**
 * unifiedDiff is the diff package's createTwoFilesPatch, faster: the package is the oracle, on
 * generated texts (few distinct lines, so many ties between insertions and removals; with and
 * without a final newline; \r\n) and on a pod before and after injection.
 */
import { describe, expect, it } from "@jest/globals";
import { createTwoFilesPatch } from "diff";
import fc from "fast-check";
import { stringify } from "yaml";
import { runInjection } from "../injection/pipeline.js";
import { aPod, testContext } from "../../test/support/builders.js";
import { unifiedDiff } from "./line-diff.js";

const line = fc.constantFrom("a", "b", "c", "d", "", "  x: 1", "- y");
const text = fc.record({ lines: fc.array(line, { maxLength: 40 }), end: fc.constantFrom("\n", "", "\r\n") }).map(({ lines, end }) => (lines.length === 0 ? "" : lines.join(end === "\r\n" ? "\r\n" : "\n") + end));
/** A text and an edit of it: lines inserted, removed and changed here and there. */
const edited = fc.tuple(fc.array(line, { maxLength: 60 }), fc.array(fc.tuple(fc.nat(60), fc.constantFrom("insert", "remove", "change"), line), { maxLength: 12 })).map(([lines, edits]) => {
  const after = [...lines];
  for (const [at, what, l] of edits) {
    const i = Math.min(at, after.length);
    if (what === "insert") after.splice(i, 0, l);
    else if (what === "remove") after.splice(i, 1);
    else after[i] = l;
  }
  return [lines.map((l) => `${l}\n`).join(""), after.map((l) => `${l}\n`).join("")] as const;
});

describe("unifiedDiff", () => {
  it("writes what createTwoFilesPatch writes for any two texts", () => {
    fc.assert(
      fc.property(text, text, (before, after) => {
        expect(unifiedDiff("Pod/x", before, after, "given", "injected")).toBe(createTwoFilesPatch("Pod/x", "Pod/x", before, after, "given", "injected"));
      }),
      { numRuns: 3000 },
    );
  });

  it("writes what createTwoFilesPatch writes for a text and an edit of it", () => {
    fc.assert(
      fc.property(edited, ([before, after]) => {
        expect(unifiedDiff("Deployment/web", before, after, "given", "injected")).toBe(createTwoFilesPatch("Deployment/web", "Deployment/web", before, after, "given", "injected"));
      }),
      { numRuns: 3000 },
    );
  });

  it("writes what createTwoFilesPatch writes for a pod before and after injection, and for equal texts", () => {
    const pod = aPod({ annotations: { "prometheus.io/scrape": "true" } });
    const result = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "shop", object: pod }, testContext());
    const before = stringify(pod);
    const after = stringify(result.mutated);
    const diff = unifiedDiff("Pod/web", before, after, "given", "injected");
    expect(diff).toBe(createTwoFilesPatch("Pod/web", "Pod/web", before, after, "given", "injected"));
    expect(diff).toMatch(/^\+\s+- name: istio-proxy$/m);
    expect(unifiedDiff("Pod/web", before, before, "given", "injected")).toBe(createTwoFilesPatch("Pod/web", "Pod/web", before, before, "given", "injected"));
  });
});
