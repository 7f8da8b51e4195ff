/**
 * Lists in pages, the way kubectl and client-go list: `limit` objects a request (500, kubectl's
 * `--chunk-size` default) and the `continue` token of each page for the next, each page handed to
 * the caller and dropped before the next is read, so memory grows with what the caller keeps, not
 * with the raw list. Pages are read as plain JSON straight off the wire (no model classes, no
 * Dates): what the audit and the caches read is the API server's JSON.
 *
 * A continue token expires when the API server compacts the resourceVersion it encodes (410 Gone,
 * reason Expired; etcd keeps about five minutes of history). client-go's pager then starts the list
 * again (as one full list); we start it again in pages, so memory stays bounded, at most
 * `MAX_LIST_RESTARTS` times, telling the caller to drop what it kept (`onRestart`).
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError } from "../errors.js";

type Json = Record<string, unknown>;

/** kubectl's default `--chunk-size`. */
export const DEFAULT_PAGE_SIZE = 500;
/** How often a list whose continue token expired is started again before giving up. */
export const MAX_LIST_RESTARTS = 3;
/** One page may take this long (the API server's own request timeout is 60 s). */
const PAGE_TIMEOUT_MS = 60_000;

/** A refused or failed GET: the HTTP status and the Status object's reason, when there was one. */
export class ApiRequestError extends KubeApiError {
  /** The Status reason the API server gave (Expired, Forbidden, ...). */
  readonly statusReason: string | undefined;
  /** The API server's own message (its Status), or the transport's. */
  readonly detail: string;
  constructor(message: string, httpStatus: number | undefined, reason: string | undefined, detail = message) {
    super(message, httpStatus);
    this.statusReason = reason;
    this.detail = detail;
  }
}

/** Is this the API server's answer to an expired continue token or resourceVersion (410 Gone)? */
export function isExpired(err: unknown): boolean {
  return err instanceof ApiRequestError && err.httpStatus === 410;
}

/** GET a path of the API server as JSON, with the KubeConfig's credentials, TLS and proxy. */
export async function getJson(kc: KubeConfig, path: string, query: Readonly<Record<string, string | undefined>> = {}): Promise<Json> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeApiError("no current cluster in the Kubernetes configuration");
  const url = new URL(cluster.server.replace(/\/+$/, "") + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  const opts: import("node:https").RequestOptions = { method: "GET", headers: { Accept: "application/json" } };
  await kc.applyToHTTPSOptions(opts);
  const send = url.protocol === "http:" ? httpRequest : httpsRequest;
  return new Promise<Json>((resolve, reject) => {
    const req = send(url, { ...opts, timeout: PAGE_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300 && body !== null && typeof body === "object") return resolve(body as Json);
        const s = (body ?? {}) as { message?: unknown; reason?: unknown };
        const message = typeof s.message === "string" ? s.message : text.slice(0, 200) || (res.statusMessage ?? "no answer");
        reject(new ApiRequestError(`GET ${url.pathname} failed (HTTP ${status}): ${message}`, status, typeof s.reason === "string" ? s.reason : undefined, message));
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url.pathname}: no answer within ${PAGE_TIMEOUT_MS / 1000} s`)));
    req.on("error", (err) => reject(err instanceof KubeApiError ? err : new ApiRequestError(`GET ${url.pathname} failed: ${err.message}`, undefined, undefined, err.message)));
    req.end();
  });
}

export interface PagedListOptions {
  readonly pageSize?: number;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Each page's items, in order; keep what you need, the page is dropped afterwards. */
  readonly onPage: (items: readonly Json[]) => void;
  /** The list starts again (its continue token expired): drop everything kept from earlier pages. */
  readonly onRestart?: () => void;
  /** Swapped in by tests. */
  readonly get?: typeof getJson;
}

export interface PagedListResult {
  /** The resourceVersion of the list (its first page), to watch from. */
  readonly resourceVersion: string | undefined;
  readonly pages: number;
  readonly restarts: number;
}

/** List `path` (e.g. /api/v1/pods) in pages; see the module comment for expiry. */
export async function listInPages(kc: KubeConfig, path: string, opts: PagedListOptions): Promise<PagedListResult> {
  const get = opts.get ?? getJson;
  const limit = String(opts.pageSize ?? DEFAULT_PAGE_SIZE);
  let restarts = 0;
  let pages = 0;
  for (;;) {
    let token: string | undefined;
    let resourceVersion: string | undefined;
    let first = true;
    try {
      do {
        const page = await get(kc, path, { limit, continue: token, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
        pages++;
        const meta = (page.metadata ?? {}) as { continue?: unknown; resourceVersion?: unknown };
        if (first && typeof meta.resourceVersion === "string") resourceVersion = meta.resourceVersion;
        first = false;
        opts.onPage(Array.isArray(page.items) ? (page.items as Json[]) : []);
        token = typeof meta.continue === "string" && meta.continue !== "" ? meta.continue : undefined;
      } while (token !== undefined);
      return { resourceVersion, pages, restarts };
    } catch (err) {
      // Only an expired continue token is retried: a first page's 410 is another problem.
      if (!isExpired(err) || token === undefined) throw err;
      if (restarts >= MAX_LIST_RESTARTS) {
        throw new ApiRequestError(
          `list ${path}: the continue token expired ${restarts + 1} times (the API server compacts history faster than the list is read); try again, or list fewer objects at a time`,
          410,
          "Expired",
        );
      }
      restarts++;
      opts.onRestart?.();
    }
  }
}
