/**
 * toYamlText is the yaml package's stringify, faster: the package is the oracle, on generated JSON
 * (strings that fold, quote, look like numbers or document markers, span lines), on the places
 * where folding depends on the column, on shared objects, and on injected pods.
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { stringify } from "yaml";
import { runInjection } from "../injection/pipeline.js";
import { deepFreeze } from "../json-values.js";
import { aPod, testContext } from "../../test/support/builders.js";
import { toYamlText } from "./yaml-text.js";

/** Strings the package writes in every way it can: plain, quoted, folded, block, escaped. */
const tricky = fc.oneof(
  fc.string(),
  fc.constantFrom("", " ", "-", "?", "- a", "---", "--domain", "...", "%x", "a: b", "a #b", "#x", "x:", "true", "True", "null", "~", "0x1F", "0o17", "1e3", ".inf", ".NaN", "15020", "-1", "+1", "1.5", "'", '"', `it's "x"`, "a\nb", "a\n", "\nb", " a", "a ", "\t", "\u0000", "\u00e9t\u00e9", "\ud800"),
  fc.array(fc.constantFrom("a", "b", " ", ":", "#", "-", "'", '"', "\n", "x", "1", "{", "}", ",", "[", "]", "\\", "é"), { maxLength: 140 }).map((cs) => cs.join("")),
  fc.integer({ min: 0, max: 200 }).map((n) => "x".repeat(n)),
  fc.integer({ min: 0, max: 30 }).map((n) => `${"word ".repeat(n)}end`),
  fc.integer({ min: 0, max: 120 }).map((n) => `{"k":"${"v".repeat(n)}"}`),
);
const scalar = fc.oneof(tricky, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, scalar, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 5 }),
  object: fc.dictionary(fc.oneof(tricky, fc.constantFrom("name", "a", "sidecar.istio.io/status", "k".repeat(70))), tie("value"), { maxKeys: 5 }),
})).value;

describe("toYamlText", () => {
  it("writes what the yaml package writes, for any JSON value", () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(toYamlText(value)).toBe(stringify(value));
      }),
      { numRuns: 3000 },
    );
  });

  it("writes what the package writes for long values at every depth and under keys of every length", () => {
    const values = ["x".repeat(90), `'${"y".repeat(85)}'`, `{"a":"${"z".repeat(90)}"}`, `${"w ".repeat(50)}`, "a".repeat(62)];
    for (let depth = 0; depth < 40; depth += 3) {
      for (const keyLength of [1, 20, 57, 58, 59, 60, 61, 80]) {
        for (const v of values) {
          let value: unknown = { ["k".repeat(keyLength)]: v, list: [v, [v], { [`${"q".repeat(keyLength)}`]: v }] };
          for (let d = 0; d < depth; d++) value = d % 2 === 0 ? { nested: value } : [value];
          expect(toYamlText(value)).toBe(stringify(value));
        }
      }
    }
  });

  it("hands an object met twice to the package, which writes an anchor and an alias", () => {
    const shared = { a: 1 };
    const value = { x: shared, y: [shared] };
    expect(toYamlText(value)).toBe(stringify(value));
    expect(toYamlText(value)).toContain("*a1");
  });

  it("reuses a frozen piece's lines only where they are the same: at every place, and not for a piece met twice", () => {
    const piece = deepFreeze({ name: "x", list: [1, { a: "b" }, ["c", "d"]], long: "v".repeat(70), spaced: "a b ".repeat(15) });
    const places: unknown[] = [{ a: piece }, [piece], { deep: { deeper: [[piece]] } }, [[[piece]]], { ["k".repeat(59)]: [piece] }, piece];
    for (let round = 0; round < 2; round++) {
      for (const value of places) expect(toYamlText(value)).toBe(stringify(value));
    }
    const twice = { a: piece, b: [piece] };
    expect(toYamlText(twice)).toBe(stringify(twice));
    const inner = { a: piece.list, b: piece };
    expect(toYamlText(inner)).toBe(stringify(inner));
  });

  it("writes an injected pod as the package does", () => {
    const ctx = testContext();
    const pod = aPod({ annotations: { "sidecar.istio.io/proxyCPU": "250m", "prometheus.io/scrape": "true" } });
    const result = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "shop", object: pod }, ctx);
    expect(result.mutated).toBeDefined();
    expect(toYamlText(result.mutated)).toBe(stringify(result.mutated));
    expect(toYamlText(pod)).toBe(stringify(pod));
    // Again, with the frozen pieces' lines known.
    const again = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "shop", object: aPod() }, ctx);
    expect(toYamlText(again.mutated)).toBe(stringify(again.mutated));
  });
});
