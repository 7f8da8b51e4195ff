/**
 * createApp(deps): the webhook's request listener and nothing else (no TLS, no listen), so tests
 * drive it with supertest. POST /inject goes straight to the admission route; express serves
 * everything else. Transport problems get HTTP codes (400/413/415) and a JSON error body; a
 * well-formed review always gets HTTP 200 and an AdmissionReview. GET /audit and GET /explain
 * reveal cluster data: they answer only callers `deps.authorize` admits (401/403/503 otherwise).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import type { AdmissionDeps } from "../admission/handler.js";
import type { AuditReport } from "../audit/audit.js";
import { formatAudit } from "../audit/format.js";
import { EXPLAIN_KIND_NAMES, type ExplainReport, type ExplainTarget, explainKindOf } from "../explain/cluster.js";
import { formatExplain } from "../explain/format.js";
import { NotFoundError } from "../errors.js";
import { serveAdmission } from "./admission-route.js";
import type { Authorize, ReportScope } from "./delegated-auth.js";
import { createBufferPool } from "./buffer-pool.js";
import type { PreviewRunner } from "../preview/preview-pool.js";
import { previewError, servePreview } from "./preview-route.js";
import { type PageAssets, PagePaths, mountPage } from "./page-route.js";
import { summarizeConfig } from "../preview/config-summary.js";
import { packageVersion } from "../version.js";

export const Paths = {
  Inject: "/inject",
  Preview: "/preview",
  Healthz: "/healthz",
  Readyz: "/readyz",
  Metrics: "/metrics",
  Audit: "/audit",
  Explain: "/explain",
  ...PagePaths,
} as const;

/** Lifecycle as the routes see it. */
export interface Health {
  /** Serving a certificate and config, not draining. */
  readonly ready: () => boolean;
  /** Shutting down: answer, but close each connection after its response. */
  readonly draining: () => boolean;
  /** Why the replica is (not) ready, for the /readyz body (e.g. the certificate's state). */
  readonly detail?: () => string;
}

/** The /readyz answer, shared by the webhook port and the plain probe port. */
export function readyzResponse(health: Health): { status: number; body: { status: string; reason?: string } } {
  const reason = health.detail?.();
  const extra = reason === undefined ? {} : { reason };
  if (health.draining()) return { status: 503, body: { status: "draining", ...extra } };
  if (health.ready()) return { status: 200, body: { status: "ready", ...extra } };
  return { status: 503, body: { status: "starting", ...extra } };
}

export interface AppDeps extends AdmissionDeps {
  readonly logger: Logger;
  readonly health: Health;
  readonly maxBodyBytes: () => number;
  /** Serve admission (/inject) and /preview (default); false on a replica of the reports role. */
  readonly admission?: boolean;
  /** Renders POST /preview: the server's worker pool (preview-pool.ts), or inline in tests; none on a reports replica. */
  readonly previews?: PreviewRunner;
  /** The preview page's files (page-route.ts), read once at startup; served with /preview, where previews are. */
  readonly page?: PageAssets;
  /** The in-server audit (auditEndpoint: true); null while its caches have not synced. */
  readonly audit?: () => AuditReport | null;
  /** The in-server explain (auditEndpoint: true), from the same caches; null while they have not synced. */
  readonly explain?: (target: ExplainTarget) => ExplainReport | null;
  /**
   * Who may see /audit and /explain (delegated authentication and authorization, delegated-auth.ts).
   * Required with `audit` or `explain`: createApp refuses to serve cluster data without it.
   */
  readonly authorize?: Authorize;
}

/** Why GET /audit or /explain is not served by this replica. */
const REPORTS_OFF = (path: string) =>
  `GET ${path} is not served here: it is served by the reports role (serve --role reports), or with server.role all and auditEndpoint: true`;

function sendError(res: Response, status: number, code: string, message: string): void {
  // A route may have set another type before it failed (GET /metrics: text/plain).
  res.status(status).type("application/json").json({ code, message });
}

/** `?output=` of GET /audit and GET /explain (default json); null after answering 400 for another value. */
function reportOutput(req: Request, res: Response): "json" | "table" | "yaml" | null {
  const output = new URLSearchParams(req.url.split("?")[1] ?? "").get("output") ?? "json";
  if (output === "json" || output === "table" || output === "yaml") return output;
  sendError(res, 400, "BAD_REQUEST", `output must be one of json, table, yaml (got ${JSON.stringify(output)})`);
  return null;
}

/** Answer the refusal and return false unless the caller may see `scope` (a 401 or 403 body holds no cluster data). */
async function admitted(authorize: Authorize, req: Request, res: Response, scope: ReportScope): Promise<boolean> {
  const result = await authorize(req, scope);
  if (result.allowed) return true;
  if (result.challenge !== undefined) res.setHeader("WWW-Authenticate", result.challenge);
  sendError(res, result.status, result.code, result.message);
  return false;
}

/** The listener: the admission route first, express for the rest. */
export function createApp(deps: AppDeps): RequestListener {
  if ((deps.audit !== undefined || deps.explain !== undefined) && deps.authorize === undefined) {
    throw new TypeError("createApp: /audit and /explain reveal cluster data and need deps.authorize (delegated-auth.ts)");
  }
  // Large review bodies are read into reused buffers (8 MiB idle at most, dropped after 10 s quiet).
  const routeDeps = { ...deps, draining: deps.health.draining, bodies: createBufferPool({ maxIdleBytes: 8 * 1024 * 1024, idleMs: 10_000 }) };
  const fallback = createExpressApp(deps);
  const admission = deps.admission ?? true;
  return (req: IncomingMessage, res: ServerResponse) => {
    if (admission && req.method === "POST" && (req.url === Paths.Inject || req.url?.startsWith(`${Paths.Inject}?`))) {
      void serveAdmission(req, res, routeDeps);
      return;
    }
    fallback(req, res);
  };
}

function createExpressApp(deps: AppDeps): express.Express {
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
    const answer = readyzResponse(deps.health);
    res.status(answer.status).json(answer.body);
  });

  app.get(Paths.Metrics, async (_req, res, next) => {
    if (!deps.metrics) return void sendError(res, 404, "NOT_FOUND", "metrics are not enabled");
    try {
      res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    } catch (err) {
      next(err);
    }
  });

  // /audit and /explain: only for callers the cluster's RBAC lets list pods where they ask (createApp checked authorize).
  const authorize = deps.authorize as Authorize;

  app.get(Paths.Audit, async (req, res) => {
    if (!deps.audit) return void sendError(res, 404, "NOT_FOUND", REPORTS_OFF("/audit"));
    const output = reportOutput(req, res);
    if (output === null) return;
    if (!(await admitted(authorize, req, res, { namespace: null }))) return;
    const report = deps.audit();
    if (report === null) return void sendError(res, 503, "NOT_READY", "the cluster caches have not synced yet");
    if (output === "json") res.json(report);
    else res.type(output === "yaml" ? "application/yaml" : "text/plain").send(formatAudit(report, output));
  });

  // GET /explain?namespace=shop&kind=deployment&name=web (kind and name together; no namespace: every namespace).
  app.get(Paths.Explain, async (req, res) => {
    if (!deps.explain) return void sendError(res, 404, "NOT_FOUND", REPORTS_OFF("/explain"));
    const output = reportOutput(req, res);
    if (output === null) return;
    const query = new URLSearchParams(req.url.split("?")[1] ?? "");
    const namespace = query.get("namespace");
    const kindText = query.get("kind");
    const name = query.get("name");
    if ((kindText === null) !== (name === null)) return void sendError(res, 400, "BAD_REQUEST", "kind and name go together");
    if (kindText !== null && namespace === null) return void sendError(res, 400, "BAD_REQUEST", "kind and name need a namespace");
    const kind = kindText === null ? undefined : explainKindOf(kindText);
    if (kindText !== null && kind === undefined) {
      return void sendError(res, 400, "BAD_REQUEST", `kind must be one of ${EXPLAIN_KIND_NAMES} (got ${JSON.stringify(kindText)})`);
    }
    if (namespace === "" || name === "") return void sendError(res, 400, "BAD_REQUEST", "namespace and name must not be empty");
    if (!(await admitted(authorize, req, res, { namespace }))) return;
    let report: ExplainReport | null;
    try {
      report = deps.explain({ namespace, ...(kind !== undefined && name !== null && { kind, name }) });
    } catch (err) {
      if (err instanceof NotFoundError) return void sendError(res, 404, "NOT_FOUND", err.message);
      throw err;
    }
    if (report === null) return void sendError(res, 503, "NOT_READY", "the cluster caches have not synced yet");
    if (output === "json") res.json(report);
    else res.type(output === "yaml" ? "application/yaml" : "text/plain").send(formatExplain(report, output));
  });

  if (deps.admission === false) {
    // A replica of the reports role: the API server and /preview users go to the webhook's Service.
    for (const path of [Paths.Inject, Paths.Preview, Paths.Page, Paths.ConfigSummary]) {
      app.all(path, (_req, res) => {
        sendError(res, 404, "NOT_FOUND", `${path} is served by the webhook's replicas (server.role webhook or all); this replica serves reports only (server.role reports)`);
      });
    }
  }

  const previews = deps.previews;
  const previewDeps = previews === undefined ? undefined : { ...deps, previews };
  app.post(Paths.Preview, async (req: Request, res: Response, next: NextFunction) => {
    if (previewDeps === undefined) return void sendError(res, 404, "NOT_FOUND", "POST /preview is not served by this replica");
    try {
      await servePreview(req, res, previewDeps);
    } catch (err) {
      const answer = previewError(err);
      if (answer === null) next(err);
      else res.status(answer.status).set(answer.headers ?? {}).json(answer.body);
    }
  });

  // The page for people who preview: with the previews it sends to, and the configuration they render with.
  if (deps.page !== undefined && previewDeps !== undefined) {
    mountPage(app, { assets: deps.page, summary: () => summarizeConfig(deps.context(), packageVersion()) });
  }

  for (const path of [Paths.Inject, Paths.Preview]) {
    app.all(path, (_req, res) => {
      res.setHeader("Allow", "POST");
      sendError(res, 405, "METHOD_NOT_ALLOWED", `${path} accepts POST only`);
    });
  }

  app.use((req: Request, res: Response) => {
    sendError(res, 404, "NOT_FOUND", `no route for ${req.method} ${req.path}`);
  });

  // The last resort: transport errors map to their codes; anything else is a 500 that is logged.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown }).status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      sendError(res, status, "BAD_REQUEST", (err as Error).message);
      return;
    }
    // Nothing a client sends may end here (each route maps its input errors to a 4xx): a 500 is a
    // bug of ours, and says so with an id that finds its log line.
    const requestId = randomUUID();
    deps.logger.error({ err, path: req.path, method: req.method, requestId }, "internal error: a bug in the injector (please report it with this log line)");
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, 500, "INTERNAL", `internal error (request id ${requestId}); the injector's log has the details`);
  });
  return app;
}
