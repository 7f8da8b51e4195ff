/**
 * createApp(deps): the express app with the webhook's routes and nothing else (no TLS, no listen),
 * so tests drive it with supertest. Transport problems get HTTP codes (400/413/415) and a JSON
 * error body; a well-formed review always gets HTTP 200 and an AdmissionReview.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import { type AdmissionDeps, handleAdmission } from "../admission/handler.js";
import { parseAdmissionReview, toReview } from "../admission/review.js";
import { BadRequestError } from "../errors.js";
import { HttpError, readJsonBody } from "./body.js";

export const Paths = {
  Inject: "/inject",
  Healthz: "/healthz",
  Readyz: "/readyz",
} as const;

/** Lifecycle as the routes see it. */
export interface Health {
  /** Serving a certificate and config, not draining. */
  readonly ready: () => boolean;
  /** Shutting down: answer, but close each connection after its response. */
  readonly draining: () => boolean;
}

export interface AppDeps extends AdmissionDeps {
  readonly logger: Logger;
  readonly health: Health;
  readonly maxBodyBytes: () => number;
}

function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ code, message });
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.set("query parser", false);

  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (deps.health.draining()) res.setHeader("Connection", "close");
    next();
  });

  app.get(Paths.Healthz, (_req, res) => {
    res.json({ status: "ok" });
  });

  app.get(Paths.Readyz, (_req, res) => {
    if (deps.health.ready() && !deps.health.draining()) res.json({ status: "ready" });
    else res.status(503).json({ status: deps.health.draining() ? "draining" : "starting" });
  });

  app.post(Paths.Inject, async (req: Request, res: Response, next: NextFunction) => {
    try {
      const body = await readJsonBody(req, deps.maxBodyBytes());
      const review = parseAdmissionReview(body);
      const outcome = handleAdmission(review, deps);
      res.status(200).json(toReview(review.apiVersion, outcome.response));
    } catch (err) {
      next(err);
    }
  });

  app.all(Paths.Inject, (_req, res) => {
    res.setHeader("Allow", "POST");
    sendError(res, 405, "METHOD_NOT_ALLOWED", `${Paths.Inject} accepts POST only`);
  });

  app.use((req: Request, res: Response) => {
    sendError(res, 404, "NOT_FOUND", `no route for ${req.method} ${req.path}`);
  });

  // The last resort: transport errors map to their codes; anything else is a 500 that is logged.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError) {
      if (err.statusCode === 413) res.setHeader("Connection", "close");
      sendError(res, err.statusCode, err.code, err.message);
      return;
    }
    if (err instanceof BadRequestError) {
      sendError(res, 400, err.code, err.message);
      return;
    }
    deps.logger.error({ err, path: req.path }, "unhandled error");
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, 500, "INTERNAL", "internal error");
  });
  return app;
}
