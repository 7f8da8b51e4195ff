/**
 * The README documents every stable code a user can meet: reason codes (logs, warnings, audit
 * annotations), error codes, annotations and the HTTP error codes of the admission route.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { Annotation } from "../src/config/config.js";
import { ErrorCode } from "../src/errors.js";
import { ANNOTATION_VALIDATORS } from "../src/injection/annotations.js";
import { ReasonCode } from "../src/injection/reasons.js";

const ROOT = join(import.meta.dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

function httpCodesInSource(): string[] {
  const dir = join(ROOT, "src", "http");
  const codes = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts"))) {
    const text = readFileSync(join(dir, f), "utf8");
    for (const m of text.matchAll(/"([A-Z][A-Z_]{3,})"/g)) if (m[1]) codes.add(m[1]);
  }
  return [...codes];
}

describe("README", () => {
  it.each(Object.values(ReasonCode))("documents reason code %s", (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
  it.each(Object.values(ErrorCode))("documents error code %s", (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
  it.each(httpCodesInSource())("documents HTTP error code %s", (code) => {
    expect(readme).toContain(code);
  });
  it.each(Object.keys(ANNOTATION_VALIDATORS).map((k) => k.split("/")[1] ?? k))("documents annotation %s", (name) => {
    expect(readme).toContain(name);
  });
  it("documents the opt-in annotation and label", () => {
    expect(readme).toContain(`\`${Annotation.Inject}\``);
  });
});
