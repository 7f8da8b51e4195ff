/**
 * What the page says about the injector's answers (src/page/answers.ts), fed with answers the
 * injector really gives: the parser's own messages for unreadable manifests, the preview's own
 * report for a pod it would deny, the route's own refusals (429, 413) — so the page and the
 * server cannot drift apart unnoticed.
 */
import { describe, expect, it } from "@jest/globals";
import request from "supertest";
import { InvalidInputError, PreviewLimit, PreviewLimitError } from "../../src/errors.js";
import { previewError } from "../../src/http/preview-route.js";
import { HttpError } from "../../src/http/body.js";
import { type PageObject, type PageSummary, denialOf, downloadName, failureOf, inputFormatOf, lineColumnOf, problemOf, summaryRows, tally } from "../../src/page/answers.js";
import { sniffFormat } from "../../src/preview/commands.js";
import { summarizeConfig } from "../../src/preview/config-summary.js";
import { readDocuments } from "../../src/preview/documents.js";
import { type ObjectPreview, previewDocuments } from "../../src/preview/preview.js";
import { PreviewBusyError } from "../../src/preview/preview-pool.js";
import { testApp, testContext } from "../support/builders.js";

/** The injector's INVALID_INPUT problems for a text. */
function problemsFor(text: string, format: "yaml" | "json"): string[] {
  try {
    readDocuments(text, format);
  } catch (err) {
    if (err instanceof InvalidInputError) return [...err.problems];
    throw err;
  }
  throw new Error("the text was read without a problem");
}

describe("the input format", () => {
  it.each([
    ["apiVersion: v1\nkind: Pod\n", "yaml"],
    ['{"apiVersion": "v1"}', "json"],
    ['  \n [{"kind": "Pod"}]', "json"],
    ["--- # a.yaml\n{}", "yaml"],
    ["", "yaml"],
  ] as const)("%j is read as %s, as `inject -f` reads it", (text, format) => {
    expect(inputFormatOf(text)).toBe(format);
    expect(inputFormatOf(text)).toBe(sniffFormat(text));
  });
});

describe("the problems a refusal names", () => {
  it("invalid YAML: the document, and the parser's line and column, of the whole text", () => {
    const text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations: [x\nspec: {}\n";
    const [message] = problemsFor(text, "yaml");
    const problem = problemOf(message ?? "", text);
    expect(problem).toMatchObject({ where: "documents[1]", line: 11, column: 1 });
    expect(problem.text).toMatch(/^not valid YAML: .*at line 11, column 1$/);
  });

  it("invalid JSON: the parser's character position becomes the line and column of the text sent", () => {
    const text = '{\n  "apiVersion": "v1",\n  "kind": "Pod", x\n}';
    const [message] = problemsFor(text, "json");
    expect(message).toMatch(/position \d+/);
    const problem = problemOf(message ?? "", text);
    expect(problem).toMatchObject({ where: "documents[0]", line: 3 });
    expect(text.split("\n")[(problem.line ?? 0) - 1]?.[(problem.column ?? 0) - 1]).toBe("x");
  });

  it("a problem of a document's contents names its path", () => {
    const text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template: 3\n";
    const problem = problemOf(problemsFor(text, "yaml")[0] ?? "", text);
    expect(problem).toEqual({ where: "documents[0].spec.template", text: "not an object" });
  });

  it.each([
    ["abc", 0, { line: 1, column: 1 }],
    ["abc\ndef", 5, { line: 2, column: 2 }],
    ["abc\n", 4, { line: 2, column: 1 }],
    ["abc", 99, { line: 1, column: 4 }],
  ])("line and column of %j at %d", (text, offset, expected) => {
    expect(lineColumnOf(text, offset)).toEqual(expected);
  });
});

describe("refusals as sentences", () => {
  const sent = "apiVersion: v1\n";

  it("429: busy, with the wait Retry-After gives", () => {
    const answer = previewError(new PreviewBusyError("every preview worker is busy and the queue is full: try again later", 3));
    expect(answer?.status).toBe(429);
    const failure = failureOf(429, answer?.body, answer?.headers?.["Retry-After"] ?? null, sent);
    expect(failure.sentence).toBe("This injector is busy with other previews (admission comes first): try again in 3 seconds.");
    expect(failure.code).toBe("PREVIEW_BUSY");
  });

  it("413 for the body: the limit in bytes and the setting", async () => {
    const res = await request(testApp({ maxBodyBytes: () => 1024 })).post("/preview").set("Content-Type", "application/yaml").send("x: y\n".repeat(400));
    expect(res.status).toBe(413);
    expect(failureOf(413, res.body, null, sent).sentence).toBe("The manifests are too large for this injector: the request is larger than 1024 bytes (server.maxBodyBytes).");
  });

  it("413 for a bound of the preview: the setting it names", () => {
    const answer = previewError(new PreviewLimitError(PreviewLimit.Documents, "the request has 6 documents; at most 5 are previewed at once (preview.maxDocuments)"));
    const failure = failureOf(answer?.status ?? 0, answer?.body, null, sent);
    expect(failure.sentence).toBe("Too much to preview at once (preview.maxDocuments): the request has 6 documents; at most 5 are previewed at once (preview.maxDocuments).");
  });

  it("400 for the manifests: each problem with its document and line", async () => {
    const text = "a: [\n";
    const res = await request(testApp()).post("/preview").set("Content-Type", "application/yaml").send(text);
    const failure = failureOf(res.status, res.body, null, text);
    expect(failure.sentence).toBe("The manifests could not be read:");
    expect(failure.problems).toEqual([expect.objectContaining({ where: "documents[0]", line: expect.any(Number) })]);
  });

  it("400 for the query (the namespace labels): the request, not the manifests", async () => {
    const res = await request(testApp()).post("/preview?namespaceLabels=novalue").set("Content-Type", "application/yaml").send("kind: Pod\n");
    expect(res.status).toBe(400);
    const failure = failureOf(res.status, res.body, null, "kind: Pod\n");
    expect(failure.sentence).toBe("The request could not be read:");
    expect(failure.problems.map((p) => p.text)).toEqual(['namespace label "novalue" is not key=value']);
  });

  it("an answer that is not JSON, and a server failure, still say what happened", () => {
    expect(failureOf(502, { message: "Bad Gateway" }, null, sent).sentence).toBe("The injector failed (HTTP 502): Bad Gateway.");
    const notFound = previewError(new HttpError(404, "NOT_FOUND", "POST /preview is not served by this replica"));
    expect(failureOf(404, notFound?.body, null, sent).sentence).toBe("This injector does not serve previews here: POST /preview is not served by this replica.");
  });
});

describe("the report", () => {
  const manifests = [
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers: [{name: web, image: nginx}]\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: batch\n  labels: {sidecar.istio.io/inject: 'false'}\nspec:\n  containers: [{name: b, image: busybox}]\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\n  annotations: {sidecar.istio.io/proxyCPU: lots}\nspec:\n  containers: [{name: b, image: busybox}]\n",
  ].join("---\n");
  // The page reads the preview's own objects: an ObjectPreview is a PageObject (checked by the type checker here).
  const objects: PageObject[] = previewDocuments(readDocuments(manifests, "yaml"), testContext(), {}).map((p: ObjectPreview): PageObject => p);

  it("tallies the decisions", () => {
    expect(tally(objects)).toBe("3 objects: 1 inject, 1 skip, 1 deny");
    expect(tally([])).toBe("0 objects");
  });

  it("a pod the webhook would deny: each problem names the document and the annotation", () => {
    const denied = objects.find((o) => o.decision === "deny") as PageObject;
    const failure = denialOf(denied);
    expect(failure?.code).toBe("INVALID_ANNOTATION");
    expect(failure?.problems).toEqual([{ where: "documents[2]", text: expect.stringContaining('sidecar.istio.io/proxyCPU="lots" is not valid') }]);
    expect(objects.filter((o) => o !== denied).map(denialOf)).toEqual([null, null]);
  });

  it.each([
    [{ kind: "Deployment", name: "web" }, "deployment-web.injected.yaml"],
    [{ kind: "Pod", name: "../etc/Passwd" }, "pod-etc-passwd.injected.yaml"],
    [{ kind: "Pod", name: "" }, "pod-object.injected.yaml"],
  ])("download name of %j", (o, name) => {
    expect(downloadName(o)).toBe(name);
  });
});

describe("the configuration corner", () => {
  it("shows the summary's settings, the default templates marked", () => {
    const summary: PageSummary = summarizeConfig(testContext({ nativeSidecars: "true", revision: "canary" }), "9.9.9");
    expect(Object.fromEntries(summaryRows(summary))).toEqual({
      "proxy image": summary.proxyImage,
      revision: "canary",
      "native sidecars": "on",
      templates: "sidecar (default), gateway, grpc-agent, grpc-simple",
      policy: "enabled",
      "namespace label": "istio-injection=enabled",
      version: "9.9.9",
    });
    expect(Object.fromEntries(summaryRows(summarizeConfig(testContext(), "1")))["native sidecars"]).toBe("off (auto: from the cluster's version)");
  });
});
