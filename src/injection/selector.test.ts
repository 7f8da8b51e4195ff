import { describe, expect, it } from "@jest/globals";
import type { LabelSelector } from "../config/config.js";
import { describeSelector, matchesSelector } from "./selector.js";

describe("matchesSelector", () => {
  const labels = { app: "db", tier: "data" };
  it.each([
    ["empty selector matches everything", {}, true],
    ["matchLabels hit", { matchLabels: { app: "db" } }, true],
    ["matchLabels miss", { matchLabels: { app: "web" } }, false],
    ["In hit", { matchExpressions: [{ key: "tier", operator: "In", values: ["data", "cache"] }] }, true],
    ["In miss on absent key", { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }, false],
    ["NotIn on absent key", { matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, true],
    ["NotIn hit", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["data"] }] }, false],
    ["Exists", { matchExpressions: [{ key: "app", operator: "Exists" }] }, true],
    ["DoesNotExist", { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }, false],
    ["all must hold", { matchLabels: { app: "db" }, matchExpressions: [{ key: "tier", operator: "In", values: ["web"] }] }, false],
  ] as Array<[string, LabelSelector, boolean]>)("%s", (_name, selector, expected) => {
    expect(matchesSelector(selector, labels)).toBe(expected);
  });

  it("does not read inherited properties", () => {
    expect(matchesSelector({ matchExpressions: [{ key: "toString", operator: "Exists" }] }, {})).toBe(false);
  });

  it("describes a selector", () => {
    expect(describeSelector({ matchLabels: { app: "db" }, matchExpressions: [{ key: "t", operator: "In", values: ["a", "b"] }, { key: "x", operator: "DoesNotExist" }] })).toBe(
      "app=db,t in (a,b),!x",
    );
  });
});
