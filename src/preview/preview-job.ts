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
import { type ObjectPreview, type PreviewParams, previewDocuments, previewEach } from "./preview.js";

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

/** The answer, ready to send: UTF-8 in a buffer of its own, which a worker moves without a copy. */
export interface PreviewAnswer {
  readonly status: number;
  readonly contentType: "application/json" | "application/yaml" | "text/x-diff";
  readonly body: Uint8Array;
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

/** The refusal of an answer past preview.maxRenderedBytes. */
function tooLarge(bytes: number, atLeast: boolean, max: number): PreviewLimitError {
  return new PreviewLimitError(
    PreviewLimit.RenderedBytes,
    `the answer would be ${atLeast ? "at least " : ""}${bytes} bytes; at most ${max} are sent (${PreviewLimit.RenderedBytes}): preview fewer objects or ask for output=patch`,
  );
}

/**
 * An answer written piece by piece as UTF-8 into one growing buffer, refused as soon as it passes
 * the bound: the rest of the manifest is then neither previewed nor written. Each object's preview
 * and text are garbage once written, so a large answer is never a large live set of strings, and
 * the buffer is the worker's to move to the main thread as it is.
 */
class BoundedBytes {
  private buf = Buffer.allocUnsafeSlow(64 * 1024);
  private length = 0;
  constructor(private readonly max: number) {}
  write(text: string): void {
    // UTF-8 takes at most three bytes per UTF-16 unit.
    const room = this.length + text.length * 3;
    if (room > this.buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(room, Math.min(this.buf.length * 2, this.max + 1)));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    this.length += this.buf.write(text, this.length, "utf8");
    if (this.length > this.max) throw tooLarge(this.length, true, this.max);
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.length);
  }
}

/** UTF-8 of a text in a buffer of its own (never a slice of Buffer's shared pool). */
function ownBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.byteLength(text));
  Buffer.from(bytes.buffer).write(text, 0, "utf8");
  return bytes;
}

function deniedAnswer(denied: readonly ObjectPreview[]): PreviewAnswer {
  const problems = denied.flatMap((p) => (p.error?.problems ?? []).map((m) => `${p.where} (${p.kind}/${p.name}): ${m}`));
  const body = { code: denied[0]?.error?.code ?? "INVALID_ANNOTATION", message: "the webhook would deny these objects", problems };
  return { status: 422, contentType: "application/json", body: ownBytes(JSON.stringify(body)) };
}

function render(job: PreviewJob, ctx: InjectionContext, docs: readonly InputDocument[], maxBytes: number): PreviewAnswer {
  if (job.output === "yaml") {
    const previews = previewDocuments(docs, ctx, job.params);
    const denied = previews.filter((p) => p.decision === "deny");
    if (denied.length > 0) return deniedAnswer(denied);
    const text = formatManifests(docs, previews, "yaml");
    // A UTF-16 unit is at least one UTF-8 byte: count the bytes only when the length cannot tell.
    const atLeast = text.length > maxBytes;
    const bytes = atLeast ? text.length : Buffer.byteLength(text);
    if (bytes > maxBytes) throw tooLarge(bytes, atLeast, maxBytes);
    return { status: 200, contentType: "application/yaml", body: ownBytes(text) };
  }
  const out = new BoundedBytes(maxBytes);
  const denied: ObjectPreview[] = [];
  let count = 0;
  // One object's patch is its operations alone (as `kubectl patch --type json` takes them).
  const loneSinglePatch = job.output === "patch" && docs.reduce((n, d) => n + d.objects.length, 0) === 1;
  if (job.output === "json") out.write('{"results":[');
  if (job.output === "patch" && !loneSinglePatch) out.write("[");
  for (const p of previewEach(docs, ctx, job.params)) {
    if (p.decision === "deny") denied.push(p);
    switch (job.output) {
      case "json":
        // JSON.stringify's text, reusing the text the pipeline already holds for the pieces it shares.
        out.write((count > 0 ? "," : "") + toJsonText(p as never));
        break;
      case "diff":
        out.write(p.diff);
        break;
      case "patch":
        out.write(loneSinglePatch ? toJsonText(p.patch as never) : (count > 0 ? "," : "") + toJsonText({ where: p.where, kind: p.kind, name: p.name, patch: p.patch } as never));
        break;
    }
    count++;
  }
  switch (job.output) {
    case "json":
      out.write("]}");
      return { status: 200, contentType: "application/json", body: out.bytes() };
    case "diff":
      return { status: 200, contentType: "text/x-diff", body: out.bytes() };
    case "patch":
      if (denied.length > 0) return deniedAnswer(denied);
      if (!loneSinglePatch) out.write("]");
      return { status: 200, contentType: "application/json", body: out.bytes() };
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
  return render(job, ctx, docs, bounds.maxRenderedBytes);
}
