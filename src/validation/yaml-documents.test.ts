import { describe, expect, it } from "@jest/globals";
import { InvalidInputError } from "../errors.js";
import { aliasBomb as bombLines, mergeChain as chainLines } from "../../test/support/hostile-yaml.js";
import { DEFAULT_YAML_LIMITS, depthOf, readJsonDocument, readYamlDocument, readYamlDocuments } from "./yaml-documents.js";

/** The bombs as whole texts. */
const aliasBomb = (levels?: number, width?: number) => `${bombLines(levels, width)}\n`;
const mergeChain = (depth?: number) => `${chainLines(depth)}\n`;

const refusal = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidInputError) return [...err.problems];
    throw err;
  }
  throw new Error("not refused");
};

describe("readYamlDocuments: limits stated once, refusals that name the document and the limit", () => {
  it.each([
    ["an alias bomb (nine levels of nine)", aliasBomb(), /^documents\[0\]: YAML aliases expand too far \(limit 100 per alias\)$/],
    ["a merge-key chain two hundred deep", mergeChain(), /^documents\[0\]: too many YAML (aliases|merge keys): 200 \(limit 100\)$/],
    ["nesting 2,000 levels deep", `${"[".repeat(2000)}${"]".repeat(2000)}`, /^documents\[0\]: nested too deep to read \(limit 100 levels\)$/],
    ["invalid YAML", "a: [1, 2\nb: }", /^documents\[0\]: not valid YAML: /],
  ])("%s", (_name, text, message) => {
    const problems = refusal(() => readYamlDocuments(text));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => message.test(p))).toBe(true);
  });

  it("merge keys over the limit, each with one alias, are named as merge keys too", () => {
    const problems = refusal(() => readYamlDocuments(mergeChain(150), { limits: { maxAliases: 1000 } }));
    expect(problems).toEqual(["documents[0]: too many YAML merge keys: 150 (limit 100)"]);
  });

  it("names the document among several, and reports every refused document at once", () => {
    const problems = refusal(() => readYamlDocuments(`a: 1\n---\n${mergeChain()}---\n${"[".repeat(150)}${"]".repeat(150)}\n`));
    expect(problems).toEqual([
      "documents[1]: too many YAML aliases: 200 (limit 100)",
      "documents[1]: too many YAML merge keys: 200 (limit 100)",
      "documents[2]: nested 150 levels deep (limit 100)",
    ]);
  });

  it("refuses too many documents and too many bytes before parsing them", () => {
    expect(refusal(() => readYamlDocuments(Array(11).fill("a: 1").join("\n---\n"), { limits: { maxDocuments: 10 } }))).toEqual(["documents: 11 documents is more than the limit (10)"]);
    expect(refusal(() => readYamlDocuments("x".repeat(2048), { limits: { maxBytes: 1024 } }))).toEqual(["documents: 2048 bytes is more than the limit (1024)"]);
  });

  it("reads what real manifests hold: several documents, anchors used a few times, 3,000 documents, a 3 MB string", () => {
    const docs = readYamlDocuments("base: &b {app: web}\nlabels: *b\n---\n\n---\nkind: Pod\n");
    expect(docs.map((d) => d.value)).toEqual([{ base: { app: "web" }, labels: { app: "web" } }, { kind: "Pod" }]);
    expect(docs[1]?.source).toBe("kind: Pod\n");
    expect(readYamlDocuments(Array.from({ length: 3000 }, (_, i) => `n: ${i}`).join("\n---\n"))).toHaveLength(3000);
    const big = "y".repeat(3 * 1024 * 1024);
    expect(readYamlDocuments(`s: ${big}\n`)[0]?.value).toEqual({ s: big });
  });

  it("keeps `__proto__` a plain key and leaves Object.prototype alone", () => {
    const [doc] = readYamlDocuments("__proto__: {polluted: true}\na: 1\n");
    expect(Object.keys(doc?.value as object)).toEqual(["__proto__", "a"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("the limits are the documented defaults", () => {
    expect(DEFAULT_YAML_LIMITS).toEqual({ maxBytes: 16 * 1024 * 1024, maxDocuments: 10_000, maxAliases: 100, maxMergeKeys: 100, maxDepth: 100 });
  });
});

describe("readYamlDocument: one document, named without an index", () => {
  it("reads one, an empty text as null, and refuses several or a bomb with the name", () => {
    expect(readYamlDocument("a: 1\n", "config.yaml")).toEqual({ a: 1 });
    expect(readYamlDocument("", "config.yaml")).toBeNull();
    expect(refusal(() => readYamlDocument("a: 1\n---\nb: 2\n", "config.yaml"))).toEqual(["config.yaml: holds 2 YAML documents; expected one"]);
    expect(refusal(() => readYamlDocument(aliasBomb(), "config.yaml"))).toEqual(["config.yaml: YAML aliases expand too far (limit 100 per alias)"]);
  });
});

describe("readJsonDocument: the same limits for JSON", () => {
  it("reads JSON, and refuses invalid, too deep or too large JSON naming it", () => {
    expect(readJsonDocument('{"a": [1, {"b": 2}]}', "documents[0]")).toEqual({ a: [1, { b: 2 }] });
    expect(depthOf({ a: [1, { b: 2 }] })).toBe(3);
    expect(refusal(() => readJsonDocument("{", "documents[0]"))[0]).toMatch(/^documents\[0\]: not valid JSON: /);
    expect(refusal(() => readJsonDocument(`${"[".repeat(2000)}${"]".repeat(2000)}`, "documents[0]"))).toEqual(["documents[0]: nested 2000 levels deep (limit 100)"]);
    expect(refusal(() => readJsonDocument('"xxxx"', "body", { maxBytes: 3 }))).toEqual(["body: 6 bytes is more than the limit (3)"]);
  });
});
