/**
 * The guard in front of the endpoints that reveal cluster data (GET /audit, GET /explain):
 * delegated authentication and authorization, as metrics-server and kube-rbac-proxy do it. The
 * caller sends `Authorization: Bearer <token>`; the API server says who that is (TokenReview) and
 * whether they may see the data (SubjectAccessReview). The answer is data (`AuthResult`): allowed,
 * or the HTTP status, code and message to refuse with — 401 (no or unknown token), 403 (not
 * allowed, naming the check), 503 (the API server could not be asked: never an allow).
 *
 * Answers are cached briefly (allowed 10 s, denied 2 s, a bounded number of entries) so a
 * dashboard does not flood the API server; entries are keyed by a SHA-256 of the token, never the
 * token itself. Failures to ask are not cached.
 */
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { AccessReviewer, ResourceCheck, ReviewedUser } from "../kube/access-review.js";

/** What the caller asks to see: the reports of one namespace, or of the whole cluster. */
export interface ReportScope {
  /** null: every namespace (GET /audit, GET /explain without ?namespace=). */
  readonly namespace: string | null;
}

export const AuthCode = {
  Unauthorized: "UNAUTHORIZED",
  Forbidden: "FORBIDDEN",
  ReviewUnavailable: "REVIEW_UNAVAILABLE",
} as const;
export type AuthCode = (typeof AuthCode)[keyof typeof AuthCode];

export type AuthResult =
  | { readonly allowed: true; readonly user: string }
  | {
      readonly allowed: false;
      readonly status: 401 | 403 | 503;
      readonly code: AuthCode;
      /** Safe for the caller: no cluster data, no token, no role names. */
      readonly message: string;
      /** The WWW-Authenticate header of a 401. */
      readonly challenge?: string;
    };

/** The guard as the routes see it. */
export type Authorize = (req: { readonly headers: IncomingHttpHeaders }, scope: ReportScope) => Promise<AuthResult>;

/** Seeing the reports of a scope needs what reading its pods needs: `list pods` there. */
export function requiredCheck(scope: ReportScope): ResourceCheck {
  return { verb: "list", group: "", resource: "pods", namespace: scope.namespace };
}

/** "list pods in namespace shop" / "list pods cluster-wide" (the 403 names what was checked). */
export function describeCheck(check: ResourceCheck): string {
  const resource = check.group === "" ? check.resource : `${check.resource}.${check.group}`;
  return `${check.verb} ${resource} ${check.namespace === null ? "cluster-wide (in every namespace)" : `in namespace ${JSON.stringify(check.namespace)}`}`;
}

/** RFC 6750 challenges: no credentials, and credentials that did not authenticate. */
export const Challenge = {
  Missing: "Bearer",
  InvalidToken: 'Bearer error="invalid_token"',
} as const;

const MISSING_TOKEN: AuthResult = {
  allowed: false,
  status: 401,
  code: AuthCode.Unauthorized,
  message: "this endpoint needs Authorization: Bearer <token> (a ServiceAccount token, or kubectl create token)",
  challenge: Challenge.Missing,
};
const INVALID_TOKEN: AuthResult = {
  allowed: false,
  status: 401,
  code: AuthCode.Unauthorized,
  message: "the bearer token was not authenticated by the API server",
  challenge: Challenge.InvalidToken,
};

function forbidden(user: string, check: ResourceCheck): AuthResult {
  return { allowed: false, status: 403, code: AuthCode.Forbidden, message: `user ${JSON.stringify(user)} may not ${describeCheck(check)}` };
}

function unavailable(what: string): AuthResult {
  return { allowed: false, status: 503, code: AuthCode.ReviewUnavailable, message: `cannot check the caller's access: the ${what} did not get an answer from the API server` };
}

/** The bearer token of an Authorization header, or null (absent, another scheme, empty, malformed). */
export function parseBearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer +(\S+) *$/i.exec(header);
  return m?.[1] ?? null;
}

/** A map that forgets entries after their time and holds at most `maxEntries` (least recently used out first). */
export class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(maxEntries: number, now: () => number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer (got ${maxEntries})`);
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    // Least recently used goes first: a hit moves the entry to the end.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      const now = this.#now();
      for (const [k, e] of this.#entries) if (e.expires <= now) this.#entries.delete(k);
      while (this.#entries.size >= this.#maxEntries) {
        const oldest = this.#entries.keys().next().value as string;
        this.#entries.delete(oldest);
      }
    }
    this.#entries.set(key, { value, expires: this.#now() + ttlMs });
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** How long answers are kept, and how many: a dashboard refreshing every few seconds asks once. */
export const AUTH_CACHE = {
  allowedTtlMs: 10_000,
  deniedTtlMs: 2_000,
  maxEntries: 1_000,
} as const;

export interface DelegatedAuthOptions {
  readonly reviewer: AccessReviewer;
  readonly logger?: Logger;
  /** Milliseconds, monotonic (tests inject a clock). */
  readonly now?: () => number;
  readonly allowedTtlMs?: number;
  readonly deniedTtlMs?: number;
  readonly maxEntries?: number;
}

type TokenAnswer = { readonly user: ReviewedUser } | { readonly user: null };

function tokenKey(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The guard: parse the bearer token, review it, review the access, cache both answers. */
export function createDelegatedAuth(opts: DelegatedAuthOptions): Authorize {
  const now = opts.now ?? (() => performance.now());
  const allowedTtl = opts.allowedTtlMs ?? AUTH_CACHE.allowedTtlMs;
  const deniedTtl = opts.deniedTtlMs ?? AUTH_CACHE.deniedTtlMs;
  const maxEntries = opts.maxEntries ?? AUTH_CACHE.maxEntries;
  const tokens = new ExpiringCache<TokenAnswer>(maxEntries, now);
  const access = new ExpiringCache<boolean>(maxEntries, now);
  // Concurrent requests with one token share one review in flight.
  const inFlight = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, run: () => Promise<T>): Promise<T> => {
    const pending = inFlight.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const p = run().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  };

  const userOf = async (hash: string, token: string): Promise<TokenAnswer> => {
    const cached = tokens.get(hash);
    if (cached !== undefined) return cached;
    return once(`token ${hash}`, async () => {
      const answer = await opts.reviewer.reviewToken(token);
      const result: TokenAnswer = answer.authenticated ? { user: answer.user } : { user: null };
      tokens.set(hash, result, answer.authenticated ? allowedTtl : deniedTtl);
      if (!answer.authenticated) opts.logger?.info({ error: answer.error }, "report endpoint: token not authenticated");
      return result;
    });
  };

  const mayAccess = async (hash: string, user: ReviewedUser, check: ResourceCheck): Promise<boolean> => {
    const key = `${hash} ${check.verb} ${check.group} ${check.resource} ${check.namespace ?? "*"}`;
    const cached = access.get(key);
    if (cached !== undefined) return cached;
    return once(`access ${key}`, async () => {
      const answer = await opts.reviewer.reviewAccess(user, check);
      access.set(key, answer.allowed, answer.allowed ? allowedTtl : deniedTtl);
      if (!answer.allowed) opts.logger?.info({ user: user.username, check: describeCheck(check), reason: answer.reason }, "report endpoint: access denied");
      return answer.allowed;
    });
  };

  return async (req, scope) => {
    const header = req.headers.authorization;
    const token = parseBearer(typeof header === "string" ? header : undefined);
    if (token === null) return MISSING_TOKEN;
    const hash = tokenKey(token);
    const check = requiredCheck(scope);
    let stage = "TokenReview";
    try {
      const { user } = await userOf(hash, token);
      if (user === null) return INVALID_TOKEN;
      stage = "SubjectAccessReview";
      if (!(await mayAccess(hash, user, check))) return forbidden(user.username, check);
      return { allowed: true, user: user.username };
    } catch (err) {
      opts.logger?.warn({ err: (err as Error).message, stage }, "report endpoint: cannot review the caller: answering 503");
      return unavailable(stage);
    }
  };
}
