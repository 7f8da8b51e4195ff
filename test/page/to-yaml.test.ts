/**
 * The page's YAML writer (src/page/to-yaml.ts), read back with the yaml package: every JSON value
 * comes back equal, in YAML 1.2 and in YAML 1.1 (kubectl's reader takes `yes`, `on`, `0755` or
 * `1e3` otherwise than 1.2 does); the strings that look like other things are quoted; an injected
 * pod as the preview answers it comes back as the same object.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { parse } from "yaml";
import { toYaml } from "../../src/page/to-yaml.js";
import { readDocuments } from "../../src/preview/documents.js";
import { previewDocuments } from "../../src/preview/preview.js";
import { testContext } from "../support/builders.js";

const ROOT = join(import.meta.dirname, "..", "..");
const read12 = (text: string): unknown => parse(text, { version: "1.2", uniqueKeys: true });
const read11 = (text: string): unknown => parse(text, { version: "1.1", uniqueKeys: true, merge: false });
/** What JSON carries of a value (-0 is 0). */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** Strings that read as something else, or break the line, when written plain. */
const TRICKY = [
  "", " ", "yes", "No", "ON", "off", "y", "N", "true", "False", "null", "NULL", "~", "-", "- a", "? a", ": a", "a: b", "a:", "a #b", "#a",
  "0755", "0x1F", "1e3", "E0", "e-5", "e10_0", "1_000", "1:20", ".inf", "-.inf", ".NaN", "2001-12-14", "<<", "=", "@a", "`a", "!a", "&a", "*a", "%a", "|", ">",
  "'a'", '"a"', "{a}", "[a]", "a, b", "a\nb", "a\tb", "trailing ", " leading", "a\u0085b", "a\u2028b", "a\ufeffb", "\u007f", "\u0090", "é",
  "$(POD_NAMESPACE).svc.cluster.local", "docker.io/istio/proxyv2:1.30.3", "misc:error", "--proxyLogLevel=warning", "http://example.com/a",
];

describe("toYaml", () => {
  it.each(TRICKY)("the string %j reads back as itself, as a value and as a key", (s) => {
    const value = { [s]: s, list: [s, { [s]: [s] }] };
    expect(read12(toYaml(value))).toEqual(value);
    expect(read11(toYaml(value))).toEqual(value);
    expect(read12(toYaml(s))).toBe(s);
  });

  it("writes block YAML: nested maps and lists, empty ones inline, plain strings plain", () => {
    const text = toYaml({ a: { b: [1, "x", { c: true, d: null }, [], {}, [2, [3]]] }, e: "docker.io/istio/proxyv2:1.30.3", f: "yes" });
    expect(text).toBe(
      ["a:", "  b:", "    - 1", "    - x", "    - c: true", "      d: null", "    - []", "    - {}", "    - - 2", "      - - 3", "e: docker.io/istio/proxyv2:1.30.3", 'f: "yes"', ""].join("\n"),
    );
  });

  it.each([1e21, -1e21, 1.5e-7, 5e-324, Number.MAX_SAFE_INTEGER])("the number %d reads back as itself in YAML 1.1 and 1.2", (n) => {
    expect(read12(toYaml({ n }))).toEqual({ n });
    expect(read11(toYaml({ n }))).toEqual({ n });
  });

  it("every JSON value reads back equal (YAML 1.2 and 1.1)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const text = toYaml(value);
        expect(read12(text)).toEqual(asJson(value));
        expect(read11(text)).toEqual(asJson(value));
      }),
      { numRuns: 400 },
    );
  });

  it("strings of any characters read back equal", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: "binary", maxLength: 12 }), fc.string({ unit: "binary", maxLength: 12 }), { maxKeys: 4 }), (value) => {
        expect(read12(toYaml(value))).toEqual(value);
        expect(read11(toYaml(value))).toEqual(value);
      }),
      { numRuns: 400 },
    );
  });

  it("strings made of the characters a plain string may hold read back equal", () => {
    const plainish = fc.string({ unit: fc.constantFrom(..."aeEnNoOyYtTfFlLsuU019_./$()-:=@+, ".split("")), maxLength: 10 });
    fc.assert(
      fc.property(fc.dictionary(plainish, plainish, { maxKeys: 4 }), (value) => {
        expect(read12(toYaml(value))).toEqual(value);
        expect(read11(toYaml(value))).toEqual(value);
      }),
      { numRuns: 1000 },
    );
  });

  it("the injected objects of examples/manifests.yaml, as the preview answers them, read back as the same objects", () => {
    const docs = readDocuments(readFileSync(join(ROOT, "examples", "manifests.yaml"), "utf8"), "yaml");
    const previews = previewDocuments(docs, testContext(), { namespaceLabels: { "istio-injection": "enabled" } });
    const injected = previews.filter((p) => p.patch.length > 0);
    expect(injected.length).toBeGreaterThan(0);
    for (const p of injected) {
      const text = toYaml(p.object);
      expect(text).toContain("- name: istio-proxy\n");
      expect(read12(text)).toEqual(asJson(p.object));
      expect(read11(text)).toEqual(asJson(p.object));
    }
  });
});
