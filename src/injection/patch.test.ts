import { describe, expect, it } from "@jest/globals";
import fjp from "fast-json-patch";
import { applyStrict } from "../../test/support/strict-patch.js";
import { type Operation, addOperation, createPatch, encodePatch, escapePointer, jsonEqual, toJsonText } from "./patch.js";

function roundTrip(a: unknown, b: unknown) {
  const ops = createPatch(a, b);
  expect(applyStrict(a, ops)).toEqual(b);
  expect(fjp.applyPatch(structuredClone(a), structuredClone(ops), true, false).newDocument).toEqual(b);
  return ops;
}

describe("createPatch", () => {
  it.each([
    {
      name: "insert before existing items is one add, not a replace cascade",
      a: { list: [{ name: "app" }, { name: "sidecar" }] },
      b: { list: [{ name: "istio-init" }, { name: "istio-proxy" }, { name: "app" }, { name: "sidecar" }] },
      ops: [
        { op: "add", path: "/list/0", value: { name: "istio-init" } },
        { op: "add", path: "/list/1", value: { name: "istio-proxy" } },
      ],
    },
    {
      name: "append",
      a: { list: [{ name: "app" }] },
      b: { list: [{ name: "app" }, { name: "istio-proxy" }] },
      ops: [{ op: "add", path: "/list/1", value: { name: "istio-proxy" } }],
    },
    {
      name: "insert in the middle of unnamed items",
      a: { args: ["a", "c"] },
      b: { args: ["a", "b", "c"] },
      ops: [{ op: "add", path: "/args/1", value: "b" }],
    },
    {
      name: "missing parent is created whole",
      a: { metadata: { name: "x" } },
      b: { metadata: { name: "x", annotations: { "a/b": "1" } } },
      ops: [{ op: "add", path: "/metadata/annotations", value: { "a/b": "1" } }],
    },
    {
      name: "keys with / and ~ are escaped",
      a: { labels: {} },
      b: { labels: { "security.istio.io/tlsMode": "istio", "x~y": "1" } },
      ops: [
        { op: "add", path: "/labels/security.istio.io~1tlsMode", value: "istio" },
        { op: "add", path: "/labels/x~0y", value: "1" },
      ],
    },
    {
      name: "changed named element is diffed in place",
      a: { c: [{ name: "a", image: "1" }, { name: "b" }] },
      b: { c: [{ name: "new" }, { name: "a", image: "2" }, { name: "b" }] },
      ops: [
        { op: "add", path: "/c/0", value: { name: "new" } },
        { op: "replace", path: "/c/1/image", value: "2" },
      ],
    },
    {
      name: "removed named element (re-injection strips the old proxy)",
      a: { c: [{ name: "app" }, { name: "old" }] },
      b: { c: [{ name: "app" }] },
      ops: [{ op: "remove", path: "/c/1" }],
    },
    {
      name: "equal documents give no operations",
      a: { a: [1, { b: null }], c: "x" },
      b: { a: [1, { b: null }], c: "x" },
      ops: [],
    },
    {
      name: "undefined members count as absent",
      a: { a: 1 },
      b: { a: 1, b: undefined },
      ops: [],
    },
    {
      name: "a null member is filled with add",
      a: { labels: null },
      b: { labels: { a: "1" } },
      ops: [{ op: "add", path: "/labels", value: { a: "1" } }],
    },
  ])("$name", ({ a, b, ops }) => {
    expect(roundTrip(a, b)).toEqual(ops);
  });

  it("falls back to index-wise diff for a reorder, and still applies", () => {
    roundTrip({ c: [{ name: "a" }, { name: "b" }] }, { c: [{ name: "b" }, { name: "a" }] });
    roundTrip({ c: [1, 2, 3] }, { c: [3] });
    roundTrip({ c: [1, 2] }, { c: [2, 1, 5] });
  });

  it("does not mutate its inputs", () => {
    const a = { c: [{ name: "a" }] };
    const b = { c: [{ name: "x" }, { name: "a" }] };
    const before = JSON.stringify([a, b]);
    createPatch(a, b);
    expect(JSON.stringify([a, b])).toBe(before);
  });

  it("treats __proto__ keys as plain data", () => {
    const a = JSON.parse('{"m":{"__proto__":"x"}}') as unknown;
    const b = JSON.parse('{"m":{"__proto__":"x","k":"v"}}') as unknown;
    expect(createPatch(a, b)).toEqual([{ op: "add", path: "/m/k", value: "v" }]);
    expect(({} as Record<string, unknown>).k).toBeUndefined();
  });
});

describe("helpers", () => {
  it("escapePointer", () => {
    expect(escapePointer("a/b~c")).toBe("a~1b~0c");
  });
  it("jsonEqual", () => {
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
  it("toJsonText matches JSON.stringify, frozen parts included", () => {
    const shared = Object.freeze({ name: "v", emptyDir: Object.freeze({}) });
    const values = [
      { a: [1, "x", null, undefined, shared], b: undefined, c: { "k/~": shared, d: [shared, { e: true }] } },
      [undefined, () => 1, "é\u2028\"quoted\"", "back\\slash", "\u0001ctl", "lone\ud800", "pair\ud83d\ude00"],
      [1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, true, false, null],
      { "key\"with\"quotes": 1, "\ud800": 2 },
      "plain",
      12.5,
      null,
    ];
    for (const v of values) expect(toJsonText(v)).toBe(JSON.stringify(v));
    expect(toJsonText(shared)).toBe(toJsonText(shared)); // cached text is reused
  });

  it("encodePatch is base64 JSON", () => {
    const ops = [
      { op: "add" as const, path: "/a~1b", value: { x: [1, null] } },
      { op: "remove" as const, path: "/c/0" },
      { op: "replace" as const, path: "/d", value: "e" },
      { op: "move" as const, from: "/f", path: "/g" },
    ];
    expect(JSON.parse(Buffer.from(encodePatch(ops), "base64").toString())).toEqual(ops);
  });

  it("encodePatch splices an operation's own text (addOperation) where JSON.stringify writes the operation", () => {
    const shared = Object.freeze({ name: "v", emptyDir: Object.freeze({ medium: "Memory" }) });
    const ops = [
      addOperation("/metadata/annotations/a~1b", 'quote " and \u2028 and é'),
      { op: "remove" as const, path: "/c/0" },
      addOperation("/spec/volumes/3", shared),
      addOperation("/spec/initContainers", Object.freeze([shared])),
      { op: "add" as const, path: "/x", value: { y: [1, null, "z"] } },
    ];
    for (const op of ops) expect(Object.keys(op)).toEqual(Object.keys(JSON.parse(JSON.stringify(op)) as object));
    expect(Buffer.from(encodePatch(ops), "base64").toString()).toBe(JSON.stringify(ops));
    expect(Buffer.from(encodePatch(ops.slice(2)), "base64").toString()).toBe(JSON.stringify(ops.slice(2)));
  });

  it.each([
    ["no operations", [] as Operation[]],
    ["one operation", [{ op: "remove" as const, path: "/a" }]],
    ["a patch larger than the reused buffer, in multi-byte UTF-8", [{ op: "add" as const, path: "/big", value: "é€".repeat(40_000) }]],
    ["a small patch after the large one", [{ op: "replace" as const, path: "/x", value: 1 }]],
  ])("encodePatch writes %s", (_name, ops) => {
    expect(Buffer.from(encodePatch(ops), "base64").toString("utf8")).toBe(JSON.stringify(ops));
  });
});
