/**
 * POST /inject on plain node:http, ahead of express: the admission path is the hot path (every
 * pod creation in the cluster waits on it), so it reads the body, runs the handler and writes one
 * Content-Length response without the framework's per-request layers. Routing, health and error
 * pages stay in express (app.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type AdmissionDeps, handleAdmission } from "../admission/handler.js";
import { type AdmissionReviewOut, parseAdmissionReview, toReview } from "../admission/review.js";
import { BadRequestError } from "../errors.js";
import { HttpError, readJsonBody } from "./body.js";

export interface AdmissionRouteDeps extends AdmissionDeps {
  readonly maxBodyBytes: () => number;
  readonly draining: () => boolean;
}

function send(res: ServerResponse, status: number, body: unknown, close: boolean): void {
  writeJson(res, status, JSON.stringify(body), close);
}

/**
 * The review's JSON with the (large) base64 patch spliced in rather than re-scanned by
 * JSON.stringify: base64 never needs escaping. The review's text always ends with "}}".
 */
export function reviewText(review: AdmissionReviewOut): string {
  const { patch, ...response } = review.response;
  const text = JSON.stringify({ ...review, response });
  return patch === undefined ? text : `${text.slice(0, -2)},"patch":"${patch}"}}`;
}

function writeJson(res: ServerResponse, status: number, text: string, close: boolean): void {
  const payload = Buffer.from(text);
  const headers: Record<string, string | number> = {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": payload.length,
  };
  if (close) headers.Connection = "close";
  res.writeHead(status, headers);
  res.end(payload);
}

/** Serve one POST /inject. Never throws; every failure becomes an HTTP answer. */
export async function serveAdmission(req: IncomingMessage, res: ServerResponse, deps: AdmissionRouteDeps): Promise<void> {
  const draining = deps.draining();
  try {
    const body = await readJsonBody(req, deps.maxBodyBytes());
    const review = parseAdmissionReview(body);
    const response = handleAdmission(review, deps);
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
