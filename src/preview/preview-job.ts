/**
 * One POST /preview, from the request's bytes to the answer's bytes: parse, check the bounds,
 * preview, render the output. Pure and synchronous, so it runs the same in a worker thread (the
 * server, see preview-pool.ts) and inline (the tests' app). HTTP concerns (content type, query,
 * reading the body) stay in src/http/preview-route.ts.
 */
import { PreviewLimit, PreviewLimitError } from "../errors.js";
import { toJsonText } from "../injection/patch.js";
import type { InjectionContext } from "../injection/pipeline.js";
import { type InputDocument, type InputFormat, readDocuments } from "./documents.js";
import { formatManifests } from "./format.js";
import { type PreviewParams, previewDocuments } from "./preview.js";

export const PreviewOutputs = ["json", "yaml", "diff", "patch"] as const;
export type PreviewOutput = (typeof PreviewOutputs)[number];

/** What the route has read from the request. */
export interface PreviewJob {
  /** The request body, UTF-8. */
  readonly body: Uint8Array;
  readonly format: InputFormat;
  readonly output: PreviewOutput;
  readonly params: PreviewParams;
}

/** The bounds a job checks itself (the worker time is the pool's to enforce). */
export interface PreviewBounds {
  readonly maxDocuments: number;
  readonly maxObjectsPerDocument: number;
  readonly maxRenderedBytes: number;
}

/** The answer, ready to send. */
export interface PreviewAnswer {
  readonly status: number;
  readonly contentType: "application/json" | "application/yaml" | "text/x-diff";
  readonly body: string;
}

function checkCounts(docs: readonly InputDocument[], bounds: PreviewBounds): void {
  if (docs.length > bounds.maxDocuments) {
    throw new PreviewLimitError(PreviewLimit.Documents, `the request has ${docs.length} documents; at most ${bounds.maxDocuments} are previewed at once (${PreviewLimit.Documents})`);
  }
  for (const doc of docs) {
    if (doc.objects.length > bounds.maxObjectsPerDocument) {
      throw new PreviewLimitError(
        PreviewLimit.ObjectsPerDocument,
        `documents[${doc.index}] holds ${doc.objects.length} objects; at most ${bounds.maxObjectsPerDocument} per document are previewed (${PreviewLimit.ObjectsPerDocument})`,
      );
    }
  }
}

function render(job: PreviewJob, ctx: InjectionContext, docs: readonly InputDocument[]): PreviewAnswer {
  const previews = previewDocuments(docs, ctx, job.params);
  const denied = previews.filter((p) => p.decision === "deny");
  if (denied.length > 0 && (job.output === "yaml" || job.output === "patch")) {
    const problems = denied.flatMap((p) => (p.error?.problems ?? []).map((m) => `${p.where} (${p.kind}/${p.name}): ${m}`));
    const body = { code: denied[0]?.error?.code ?? "INVALID_ANNOTATION", message: "the webhook would deny these objects", problems };
    return { status: 422, contentType: "application/json", body: JSON.stringify(body) };
  }
  switch (job.output) {
    case "json":
      // JSON.stringify's text, reusing the text the pipeline already holds for the pieces it shares.
      return { status: 200, contentType: "application/json", body: toJsonText({ results: previews } as never) };
    case "yaml":
      return { status: 200, contentType: "application/yaml", body: formatManifests(docs, previews, "yaml") };
    case "diff":
      return { status: 200, contentType: "text/x-diff", body: previews.map((p) => p.diff).join("") };
    case "patch": {
      const single = previews.length === 1 ? previews[0] : undefined;
      const body = single ? single.patch : previews.map((p) => ({ where: p.where, kind: p.kind, name: p.name, patch: p.patch }));
      return { status: 200, contentType: "application/json", body: toJsonText(body as never) };
    }
  }
}

/**
 * Run one preview. Throws InvalidInputError (400) for unreadable manifests and PreviewLimitError
 * (413/422) past a bound; a pod the webhook would deny is part of the answer (or a 422 answer).
 */
export function runPreviewJob(job: PreviewJob, ctx: InjectionContext, bounds: PreviewBounds): PreviewAnswer {
  const text = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength).toString("utf8");
  const docs = readDocuments(text, job.format);
  checkCounts(docs, bounds);
  const answer = render(job, ctx, docs);
  // UTF-8 takes one to three bytes per UTF-16 unit: count them only when the length cannot tell.
  const units = answer.body.length;
  const bytes = units > bounds.maxRenderedBytes || units * 3 <= bounds.maxRenderedBytes ? units : Buffer.byteLength(answer.body);
  if (bytes > bounds.maxRenderedBytes) {
    throw new PreviewLimitError(PreviewLimit.RenderedBytes, `the answer would be ${bytes === units ? "at least " : ""}${bytes} bytes; at most ${bounds.maxRenderedBytes} are sent (${PreviewLimit.RenderedBytes}): preview fewer objects or ask for output=patch`);
  }
  return answer;
}
