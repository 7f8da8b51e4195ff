/**
 * The page reads back the unified diffs the preview writes (src/preview/line-diff.ts): every line
 * of every hunk gets its kind, and the added and removed lines are exactly those of the diff, even
 * when a line's own text starts with `---`, `+++` or `@@`.
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { readUnifiedDiff } from "../../src/page/unified-diff.js";
import { unifiedDiff } from "../../src/preview/line-diff.js";
import { yamlDiff } from "../../src/preview/preview.js";
import { aPod, testContext } from "../support/builders.js";
import { runInjection } from "../../src/injection/pipeline.js";

/** The removed and added lines of a diff, counted below its four header lines (where every line is of a hunk). */
function sides(before: string, after: string): { removed: number; added: number } {
  const diff = unifiedDiff("x", before, after, "given", "injected");
  const body = diff.split("\n").slice(4);
  return { removed: body.filter((l) => l.startsWith("-")).length, added: body.filter((l) => l.startsWith("+")).length };
}

describe("readUnifiedDiff", () => {
  it("an injected pod's diff: headers, hunks, and istio-proxy among the added lines", () => {
    const pod = aPod();
    const result = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "default", object: pod }, testContext());
    const lines = readUnifiedDiff(yamlDiff("Pod/web-0", pod, result.mutated));
    expect(lines.slice(0, 3).map((l) => l.kind)).toEqual(["header", "header", "hunk"]);
    expect(lines.filter((l) => l.kind === "header").map((l) => l.text)).toEqual(["--- Pod/web-0\tgiven", "+++ Pod/web-0\tinjected"]);
    expect(lines.some((l) => l.kind === "added" && l.text === "+    - name: istio-proxy")).toBe(true);
    expect(lines.some((l) => l.kind === "context")).toBe(true);
  });

  it("lines whose text starts with ---, +++ or @@ stay lines of their hunk", () => {
    const before = "a\n-- b\n++ c\n@@ d\nz\n";
    const after = "a\n++ c\n-- b\n@@ e\nz\n";
    const lines = readUnifiedDiff(unifiedDiff("x", before, after, "given", "injected"));
    expect(lines.filter((l) => l.kind === "header")).toHaveLength(2);
    expect(lines.filter((l) => l.kind === "hunk")).toHaveLength(1);
    expect(lines.filter((l) => l.kind === "removed").map((l) => l.text)).toEqual(expect.arrayContaining(["--- b", "-@@ d"]));
    expect(lines.filter((l) => l.kind === "added").map((l) => l.text)).toEqual(expect.arrayContaining(["+@@ e"]));
  });

  it("a text without a final line break: the note is kept apart", () => {
    const lines = readUnifiedDiff(unifiedDiff("x", "a\nb", "a\nc", "given", "injected"));
    expect(lines.filter((l) => l.kind === "note")).toHaveLength(2);
    expect(lines.filter((l) => l.kind === "removed").map((l) => l.text)).toEqual(["-b"]);
    expect(lines.filter((l) => l.kind === "added").map((l) => l.text)).toEqual(["+c"]);
  });

  it("no change, no lines", () => {
    expect(readUnifiedDiff("")).toEqual([]);
  });

  it("for any two texts, the added and removed lines are those of the diff, in several hunks", () => {
    const line = fc.constantFrom("a", "b", "--- a", "+++ b", "@@ -1 +1 @@", "- x", "+ y", " ", "");
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), fc.array(line, { maxLength: 40 }), (a, b) => {
        const before = a.map((l) => `${l}\n`).join("");
        const after = b.map((l) => `${l}\n`).join("");
        const lines = readUnifiedDiff(unifiedDiff("x", before, after, "given", "injected"));
        const expected = sides(before, after);
        expect(lines.filter((l) => l.kind === "removed")).toHaveLength(expected.removed);
        expect(lines.filter((l) => l.kind === "added")).toHaveLength(expected.added);
        expect(lines.filter((l) => l.kind === "header")).toHaveLength(2);
        expect(lines.slice(2).some((l) => l.kind === "header")).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
