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

describe("examples/", () => {
  it("review.json is an AdmissionReview the webhook injects", async () => {
    const { default: request } = await import("supertest");
    const { testApp } = await import("./support/builders.js");
    const body = readFileSync(join(ROOT, "examples", "review.json"), "utf8");
    const res = await request(testApp()).post("/inject").set("Content-Type", "application/json").send(body);
    expect(res.status).toBe(200);
    expect(res.body.response).toMatchObject({ allowed: true, patchType: "JSONPatch", auditAnnotations: { decision: "inject" } });
  });

  it("manifests.yaml reads as manifests with pod templates", async () => {
    const { readDocuments } = await import("../src/preview/documents.js");
    const docs = readDocuments(readFileSync(join(ROOT, "examples", "manifests.yaml"), "utf8"), "yaml");
    expect(docs.flatMap((d) => d.objects).filter((o) => o.templatePath !== null).length).toBeGreaterThan(0);
  });
});
