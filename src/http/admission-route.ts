/**
 * POST /inject on plain node:http, ahead of express: the admission path is the hot path (every
 * pod creation in the cluster waits on it), so it reads the body, runs the handler and writes one
 * Content-Length response without the framework's per-request layers. Routing, health and error
 * pages stay in express (app.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type AdmissionDeps, handleAdmission } from "../admission/handler.js";
import { parseAdmissionReview, toReview } from "../admission/review.js";
import { BadRequestError } from "../errors.js";
import { HttpError, readJsonBody } from "./body.js";

export interface AdmissionRouteDeps extends AdmissionDeps {
  readonly maxBodyBytes: () => number;
  readonly draining: () => boolean;
}

function send(res: ServerResponse, status: number, body: unknown, close: boolean): void {
  const payload = Buffer.from(JSON.stringify(body));
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
    const outcome = handleAdmission(review, deps);
    send(res, 200, toReview(review.apiVersion, outcome.response), draining);
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
