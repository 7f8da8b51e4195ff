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
import { API_CALLS, NON_RESOURCE_CALLS } from "../src/kube/api-calls.js";
import { DEFAULT_CONFIG } from "../src/config/config.js";
import { CertificateEvents } from "../src/metrics.js";
import { RestartOutcome } from "../src/rollout/execute.js";
import { UntouchedReason } from "../src/rollout/plan.js";

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

/** The README's table of Kubernetes API calls, rendered from the one table in the code. */
export function apiCallsTable(): string {
  const scope = (c: (typeof API_CALLS)[number]) =>
    `${c.scope === "cluster" ? "cluster-wide" : "own namespace"}${c.name ? `, only \`${c.name === "secret" ? "tls.secretName" : "tls.webhookConfigName"}\`` : ""}`;
  const rows = [
    "| resource | verbs | scope | needed for | why |",
    "|---|---|---|---|---|",
    ...API_CALLS.map(
      (c) => `| \`${c.resource}${c.group ? `.${c.group}` : ""}\` | ${c.verbs.map((v) => `\`${v}\``).join(", ")} | ${scope(c)} | ${c.feature} | ${c.why} |`,
    ),
    ...NON_RESOURCE_CALLS.map((c) => `| \`${c.path}\` (non-resource) | ${c.verbs.map((v) => `\`${v}\``).join(", ")} | cluster-wide | always | ${c.why} |`),
  ];
  return rows.join("\n");
}

describe("README", () => {
  it("lists every Kubernetes API call the code makes, from src/kube/api-calls.ts", () => {
    expect(readme).toContain(apiCallsTable());
  });
  it.each(Object.keys(DEFAULT_CONFIG.tls))("documents tls.%s", (key) => {
    expect(readme).toContain(`tls.${key}`);
  });
  it.each(CertificateEvents)("documents the certificate event %s", (event) => {
    expect(readme).toContain(`\`${event}\``);
  });
  it.each(Object.values(ReasonCode))("documents reason code %s", (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
  it.each(Object.values(ErrorCode))("documents error code %s", (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
  it.each([...Object.values(UntouchedReason), ...Object.values(RestartOutcome)])("documents the rollout code %s", (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
  it.each(httpCodesInSource())("documents HTTP error code %s", (code) => {
    expect(readme).toContain(code);
  });
  it.each(Object.keys(ANNOTATION_VALIDATORS).map((k) => k.split("/")[1] ?? k))("documents annotation %s", (name) => {
    expect(readme).toContain(name);
  });
  it("walks through an explain answer that the explain golden output holds line for line", () => {
    const section = readme.slice(readme.indexOf("## Why is my pod not injected?"));
    const block = /```\n\$ sidecar-injector explain deployment\/web -n shop\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const golden = new Set(readFileSync(join(ROOT, "test", "explain", "testdata", "shop.table.txt"), "utf8").split("\n"));
    const lines = (block ?? "").split("\n").filter((l) => l !== "");
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.filter((l) => !golden.has(l))).toEqual([]);
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
