import { describe, expect, it } from "@jest/globals";
import { withProps, withoutKey } from "./json-values.js";

describe("withProps: what a spread gives, built without cloning", () => {
  const parsed = JSON.parse('{"b":1,"__proto__":{"polluted":true},"a":2}') as Record<string, unknown>;
  it.each([
    ["copies", { b: 1, a: 2 }, undefined],
    ["adds new keys last", { b: 1, a: 2 }, { c: 3 }],
    ["replaces a key where it stands", { b: 1, a: 2 }, { b: 9 }],
    ["keeps an own __proto__ key as data, not as the prototype", parsed, { z: 0 }],
    ["takes an own __proto__ key from the extra", { a: 1 }, parsed],
    ["takes an absent extra as none", { a: 1 }, undefined],
  ])("%s", (_name, source, extra) => {
    const out = withProps(source, extra);
    const spread = { ...source, ...extra };
    expect(Object.keys(out)).toEqual(Object.keys(spread));
    expect(JSON.stringify(out)).toBe(JSON.stringify(spread));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out).not.toBe(source);
  });
});

describe("withProps with several extras", () => {
  it("is { ...source, ...a, ...b }, absent extras skipped", () => {
    const out = withProps({ uid: "u", b: 1 }, { pod: "p" }, undefined, { b: 2, d: 3 });
    expect(JSON.stringify(out)).toBe(JSON.stringify({ ...{ uid: "u", b: 1 }, ...{ pod: "p" }, ...{ b: 2, d: 3 } }));
  });
});

describe("withoutKey", () => {
  it.each([
    ["drops the key, keeps the order", { a: 1, patch: "x", b: 2 }, "patch", '{"a":1,"b":2}'],
    ["copies when the key is absent", { a: 1 }, "patch", '{"a":1}'],
    ["keeps an own __proto__ key as data", JSON.parse('{"__proto__":{"x":1},"managedFields":[]}'), "managedFields", '{"__proto__":{"x":1}}'],
  ])("%s", (_name, source, key, text) => {
    const out = withoutKey(source as Record<string, unknown>, key);
    expect(JSON.stringify(out)).toBe(text);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});
