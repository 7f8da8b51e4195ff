import { describe, expect, it } from "@jest/globals";
import { testContext } from "../../test/support/builders.js";
import { PreviewLimit, PreviewLimitError } from "../errors.js";
import { readDocuments } from "./documents.js";
import { formatManifests } from "./format.js";
import { type PreviewOutput, runPreviewJob } from "./preview-job.js";
import { previewDocuments } from "./preview.js";

const ctx = testContext();
const unbounded = { maxDocuments: 1e9, maxObjectsPerDocument: 1e9, maxRenderedBytes: 1e12 };

function pods(n: number, extra: (i: number) => Record<string, string | undefined> = () => ({})): string {
  let text = "";
  for (let i = 0; i < n; i++) {
    const annotations = Object.entries(extra(i)).filter(([, v]) => v !== undefined).map(([k, v]) => `\n    ${k}: "${v}"`).join("");
    text += `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-${i}${annotations ? `\n  annotations:${annotations}` : ""}\nspec:\n  containers:\n  - name: web\n    image: nginx\n---\n`;
  }
  return text;
}

function run(text: string, output: PreviewOutput, bounds = unbounded) {
  const answer = runPreviewJob({ body: Buffer.from(text), format: "yaml", output, params: {} }, ctx, bounds);
  return { ...answer, text: Buffer.from(answer.body).toString("utf8") };
}

/** The answers as they are defined: from the whole list of previews, written at once. */
function expected(text: string, output: PreviewOutput): unknown {
  const docs = readDocuments(text, "yaml");
  const previews = previewDocuments(docs, ctx, {});
  switch (output) {
    case "json":
      return JSON.parse(JSON.stringify({ results: previews }));
    case "diff":
      return previews.map((p) => p.diff).join("");
    case "yaml":
      return formatManifests(docs, previews, "yaml");
    case "patch":
      return JSON.parse(JSON.stringify(previews.length === 1 ? previews[0]?.patch : previews.map((p) => ({ where: p.where, kind: p.kind, name: p.name, patch: p.patch }))));
  }
}

describe("runPreviewJob", () => {
  const manifests = [
    ["one pod", pods(1)],
    ["three pods", pods(3)],
    ["three pods, one opted out", pods(3, (i) => (i === 1 ? { "sidecar.istio.io/inject": "false" } : {}))],
    ["a pod with non-ASCII annotations", pods(2, () => ({ "example.com/owner": "zoë — équipe ☃" }))],
  ] as const;
  const outputs: PreviewOutput[] = ["json", "yaml", "diff", "patch"];

  it.each(manifests.flatMap(([name, text]) => outputs.map((output) => [name, output, text] as const)))("%s, output=%s: the answer is the previews written whole", (_name, output, text) => {
    const answer = run(text, output);
    expect(answer.status).toBe(200);
    const want = expected(text, output);
    expect(output === "diff" || output === "yaml" ? answer.text : JSON.parse(answer.text)).toEqual(want);
  });

  it.each(outputs)("output=%s: the answer's bytes have a buffer of their own, to be moved to another thread", (output) => {
    const { body } = run(pods(2), output);
    expect(body.byteOffset).toBe(0);
    expect(body.buffer).not.toBe(Buffer.from("x").buffer);
    const moved = structuredClone(body, { transfer: [body.buffer as ArrayBuffer] });
    expect(body.byteLength).toBe(0);
    expect(Buffer.from(moved).toString("utf8").length).toBeGreaterThan(0);
  });

  it.each(["json", "diff", "patch"] as const)("output=%s: an answer past the bound is refused once the bound is passed, not after writing it whole", (output) => {
    const text = pods(400);
    const whole = run(text, output).body.byteLength;
    const max = 64 * 1024;
    const perObject = whole / 400;
    let error: unknown;
    try {
      run(text, output, { ...unbounded, maxRenderedBytes: max });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PreviewLimitError);
    expect((error as PreviewLimitError).limit).toBe(PreviewLimit.RenderedBytes);
    const written = Number(/at least (\d+) bytes/.exec((error as Error).message)?.[1]);
    // It stopped within about one object's text past the bound: far short of the whole answer.
    expect(written).toBeGreaterThan(max);
    expect(written).toBeLessThanOrEqual(max + 3 * perObject);
    expect(written).toBeLessThan(whole / 4);
  });

  it("output=yaml past the bound is refused with its size", () => {
    expect(() => run(pods(50), "yaml", { ...unbounded, maxRenderedBytes: 4096 })).toThrow(/the answer would be (at least )?\d+ bytes; at most 4096 are sent \(preview\.maxRenderedBytes\)/);
  });

  it.each(["yaml", "patch"] as const)("output=%s: objects the webhook would deny make the answer a 422 naming them", (output) => {
    const answer = run(pods(3, (i) => (i === 2 ? { "sidecar.istio.io/proxyCPU": "lots" } : {})), output);
    expect(answer.status).toBe(422);
    const body = JSON.parse(answer.text) as { problems: string[] };
    expect(body.problems.join("\n")).toMatch(/documents\[2\].*Pod\/web-2/);
  });

  it("output=json: a denied object is part of the report", () => {
    const answer = run(pods(2, (i) => (i === 1 ? { "sidecar.istio.io/proxyCPU": "lots" } : {})), "json");
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text) as { results: Array<{ decision: string }> };
    expect(body.results.map((r) => r.decision)).toEqual(["inject", "deny"]);
  });
});
