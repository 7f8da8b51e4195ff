import { describe, expect, it } from "@jest/globals";
import { HEAP_GROWING_PERCENT, tuneHeapGrowth } from "./memory.js";

describe("tuneHeapGrowth", () => {
  it.each<[string, string[], string | null]>([
    ["no node flags: the setting applies", [], `--heap-growing-percent=${HEAP_GROWING_PERCENT}`],
    ["other node flags: the setting applies", ["--enable-source-maps"], `--heap-growing-percent=${HEAP_GROWING_PERCENT}`],
    ["an explicit flag wins", ["--heap-growing-percent=300"], null],
    ["an explicit flag wins, underscore spelling", ["--heap_growing_percent=50"], null],
  ])("%s", (_name, execArgv, expected) => {
    expect(tuneHeapGrowth(execArgv)).toBe(expected);
  });
});
