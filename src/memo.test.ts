import { describe, expect, it } from "@jest/globals";
import { remember } from "./memo.js";

describe("remember", () => {
  it("keeps values until the limit, then starts afresh with the new one", () => {
    const memo = new Map<string, number>();
    expect(remember(memo, "a", 1, 2)).toBe(1);
    expect(remember(memo, "b", 2, 2)).toBe(2);
    expect([...memo]).toEqual([["a", 1], ["b", 2]]);
    expect(remember(memo, "c", 3, 2)).toBe(3);
    expect([...memo]).toEqual([["c", 3]]);
  });

  it("replaces a key's value without counting it twice", () => {
    const memo = new Map<string, number>([["a", 1]]);
    remember(memo, "a", 5, 2);
    expect([...memo]).toEqual([["a", 5]]);
  });
});
