/**
 * POST /preview: what the webhook would do to a Pod, a workload, a List or an AdmissionReview, in
 * JSON or YAML (several documents). Same body limit as /inject, no side effects. For humans and
 * scripts, so problems are HTTP codes with a JSON body naming what is wrong and where.
 *
 * Query: namespace, namespaceLabels=k=v,..., output=json (the report, default) | yaml (the
 * injected manifests) | diff (unified diffs) | patch (the RFC 6902 patch, or one per object).
 */
import type { Request, Response } from "express";
import { InjectorError, PreviewLimitError } from "../errors.js";
import { parseLabelList } from "../preview/commands.js";
import type { InputFormat } from "../preview/documents.js";
import { type PreviewOutput, PreviewOutputs } from "../preview/preview-job.js";
import { PreviewBusyError, type PreviewRunner } from "../preview/preview-pool.js";
import { HttpError, isJsonContentType, readRaw } from "./body.js";

export interface PreviewRouteDeps {
  /** Renders previews: a worker pool in the server, inline in tests. */
  readonly previews: PreviewRunner;
  readonly maxBodyBytes: () => number;
}

function formatOf(contentType: string | undefined): InputFormat | null {
  if (isJsonContentType(contentType)) return "json";
  const type = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  return ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"].includes(type) ? "yaml" : null;
}

function queryString(req: Request, key: string): string | undefined {
  const value = new URLSearchParams(req.url.split("?")[1] ?? "").getAll(key);
  if (value.length > 1) throw new HttpError(400, "BAD_REQUEST", `query parameter ${key} is given more than once`);
  return value[0];
}

/** Handle one preview request; throws HttpError, PreviewBusyError or InjectorError for the caller to map. */
export async function servePreview(req: Request, res: Response, deps: PreviewRouteDeps): Promise<void> {
  const format = formatOf(req.headers["content-type"]);
  if (format === null) {
    req.resume();
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json or application/yaml");
  }
  const output = queryString(req, "output") ?? "json";
  if (!(PreviewOutputs as readonly string[]).includes(output)) {
    throw new HttpError(400, "BAD_REQUEST", `output must be one of ${PreviewOutputs.join(", ")} (got ${JSON.stringify(output)})`);
  }
  const labelsText = queryString(req, "namespaceLabels");
  const namespaceLabels = labelsText === undefined ? undefined : parseLabelList(labelsText);
  const namespace = queryString(req, "namespace") || undefined;
  // Full: refuse before reading the body, after a pause (the body is drained then, so the connection stays usable).
  if (!deps.previews.hasRoom()) {
    await new Promise((resolve) => setTimeout(resolve, SHED_DELAY_MS));
    req.resume();
    throw new PreviewBusyError("every preview worker is busy and the queue is full: try again later", deps.previews.retryAfterSeconds());
  }

  const raw = await readRaw(req, deps.maxBodyBytes());
  if (raw.length === 0) throw new HttpError(400, "EMPTY_BODY", "request body is empty");
  const answer = await deps.previews.run({ body: raw, format, output: output as PreviewOutput, params: { namespace, namespaceLabels } });
  res.status(answer.status);
  res.setHeader("Content-Type", `${answer.contentType}; charset=utf-8`);
  const body = typeof answer.body === "string" ? Buffer.from(answer.body, "utf8") : answer.body;
  res.setHeader("Content-Length", body.byteLength);
  await sendInSlices(res, body);
}

/**
 * A refused preview is answered after this pause: a client that ignores Retry-After and posts
 * again at once gets one answer per pause on each connection instead of one per body it can
 * send, and reading and dropping bodies costs the admission thread that much less.
 */
export const SHED_DELAY_MS = 1_000;

/**
 * Slices of an answer written at a time. The main thread encrypts what it writes, at once: a
 * 16 MB answer in one write held the event loop for tens of milliseconds, a slice for well under one.
 */
export const SEND_SLICE_BYTES = 256 * 1024;

/** Write the body a slice at a time, each after the previous one has drained. */
async function sendInSlices(res: Response, body: Uint8Array): Promise<void> {
  for (let at = 0; at < body.byteLength; at += SEND_SLICE_BYTES) {
    const slice = body.subarray(at, Math.min(at + SEND_SLICE_BYTES, body.byteLength));
    if (!res.write(slice)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
    if (res.destroyed) return;
  }
  res.end();
}

/** Map preview errors to HTTP answers. */
export function previewError(err: unknown): { status: number; body: unknown; headers?: Record<string, string> } | null {
  if (err instanceof HttpError) return { status: err.statusCode, body: { code: err.code, message: err.message } };
  if (err instanceof PreviewBusyError) {
    return { status: 429, body: { code: "PREVIEW_BUSY", message: err.message }, headers: { "Retry-After": String(err.retryAfterSeconds) } };
  }
  if (err instanceof PreviewLimitError) return { status: err.status, body: { code: err.code, message: err.message, limit: err.limit } };
  if (err instanceof InjectorError && err.status < 500) return { status: err.status, body: { code: err.code, message: err.message, problems: err.problems } };
  return null;
}
