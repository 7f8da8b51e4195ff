/**
 * POST /inject on plain node:http, ahead of express: the admission path is the hot path (every
 * pod creation in the cluster waits on it), so it reads the body, runs the handler and writes one
 * Content-Length response without the framework's per-request layers. Routing, health and error
 * pages stay in express (app.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type AdmissionDeps, handleAdmission, replayAdmission } from "../admission/handler.js";
import { REPLAY_MAX_REVIEW_BYTES, type ReplayKey, replayKey } from "../admission/replay-cache.js";
import { type AdmissionReviewOut, parseAdmissionReview, toReview } from "../admission/review.js";
import { BadRequestError } from "../errors.js";
import { HttpError, readJsonBytes } from "./body.js";
import { parseReviewBytes } from "./review-bytes.js";
import { withoutKey } from "../json-values.js";
import type { BufferPool } from "./buffer-pool.js";

export interface AdmissionRouteDeps extends AdmissionDeps {
  readonly maxBodyBytes: () => number;
  readonly draining: () => boolean;
  /** Buffers for large bodies, reused once the body is decoded. */
  readonly bodies?: BufferPool;
}

function send(res: ServerResponse, status: number, body: unknown, close: boolean): void {
  writeJson(res, status, JSON.stringify(body), close);
}

/**
 * The review's JSON with the (large) base64 patch spliced in rather than re-scanned by
 * JSON.stringify: base64 never needs escaping. The review's text always ends with "}}".
 */
export function reviewText(review: AdmissionReviewOut): string {
  const all = review.response;
  if (all.patch === undefined) return JSON.stringify(review);
  const text = JSON.stringify({ apiVersion: review.apiVersion, kind: review.kind, response: withoutKey(all, "patch") });
  return `${text.slice(0, -2)},"patch":"${all.patch}"}}`;
}

/**
 * The body goes to `end` as a string: node then sends the header block and the body in one write
 * (one TLS record), where a Buffer body costs a second, vectored write.
 */
function writeJson(res: ServerResponse, status: number, text: string, close: boolean): void {
  const headers: Record<string, string | number> = {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  };
  if (close) headers.Connection = "close";
  res.writeHead(status, headers);
  res.end(text);
}

/** Serve one POST /inject. Never throws; every failure becomes an HTTP answer. */
export async function serveAdmission(req: IncomingMessage, res: ServerResponse, deps: AdmissionRouteDeps): Promise<void> {
  const draining = deps.draining();
  try {
    const body = await readJsonBytes(req, deps.maxBodyBytes(), deps.bodies);
    let value: unknown;
    let key: ReplayKey | undefined;
    try {
      // Small reviews (all but the rare large pod) may be replays. Every review is parsed without
      // the fields the injector never reads (a Deployment's pod carries about a kilobyte of
      // managedFields, a quarter of its review).
      if (body.length <= REPLAY_MAX_REVIEW_BYTES) {
        key = deps.replay === undefined ? undefined : replayKey(body);
        const replayed = replayAdmission(key, deps);
        if (replayed !== undefined) {
          writeJson(res, 200, reviewText(toReview(replayed.apiVersion, replayed.response)), draining);
          return;
        }
      }
      value = parseReviewBytes(body);
    } finally {
      deps.bodies?.release(body);
    }
    const review = parseAdmissionReview(value);
    const response = handleAdmission(review, deps, key);
    writeJson(res, 200, reviewText(toReview(review.apiVersion, response)), draining);
  } catch (err) {
    if (err instanceof HttpError) {
      send(res, err.statusCode, { code: err.code, message: err.message }, draining || err.statusCode === 413);
    } else if (err instanceof BadRequestError) {
      send(res, 400, { code: err.code, message: err.message }, draining);
    } else {
      deps.logger.error({ err }, "unhandled error on the admission route");
      if (!res.headersSent) send(res, 500, { code: "INTERNAL", message: "internal error" }, true);
      else res.destroy();
    }
  }
}
