import { describe, expect, it } from "@jest/globals";
import { headerOf, isJsonContentType } from "./body.js";

describe("headerOf", () => {
  it.each([
    ["finds a header whatever its case", ["Content-Type", "application/json"], "content-type", "application/json"],
    ["keeps the first of a repeated header, as node does for Content-Length", ["content-length", "10", "Content-Length", "12"], "content-length", "10"],
    ["does not take a header whose name only starts the same", ["Content-Types", "x", "content-type", "y"], "content-type", "y"],
    ["gives undefined when the header is absent", ["Host", "example"], "content-type", undefined],
    ["gives undefined on an empty list", [], "content-length", undefined],
  ])("%s", (_name, rawHeaders, name, expected) => {
    expect(headerOf({ rawHeaders }, name)).toBe(expected);
  });
});

describe("isJsonContentType", () => {
  it.each([
    ["application/json", true],
    ["application/json; charset=utf-8", true],
    ["Application/JSON", true],
    ["application/merge-patch+json", true],
    ["text/json", false],
    ["", false],
    [undefined, false],
  ])("%s → %s", (header, expected) => {
    expect(isJsonContentType(header)).toBe(expected);
  });
});
