/**
 * Delegated authentication and authorization, the Kubernetes side: ask the API server who a
 * bearer token belongs to (TokenReview) and whether that user may do something (SubjectAccessReview),
 * through @kubernetes/client-node. Both are `create` calls listed in api-calls.ts. Every call has a
 * deadline; a failure, a timeout or an answer that cannot be read is a ReviewUnavailableError, so
 * a caller can never mistake "could not ask" for an answer.
 */
import type { KubeConfig, V1SubjectAccessReview, V1TokenReview } from "@kubernetes/client-node";
import { KubeApiError } from "../errors.js";

/** One question for the authorizer: may the user `verb` `resource` (in `namespace`, or cluster-wide)? */
export interface ResourceCheck {
  readonly verb: string;
  /** The API group ("" for the core group). */
  readonly group: string;
  readonly resource: string;
  /** null: in every namespace (cluster-wide). */
  readonly namespace: string | null;
}

/** The user a TokenReview found, as the SubjectAccessReview needs it back. */
export interface ReviewedUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

export type TokenReviewAnswer =
  | { readonly authenticated: true; readonly user: ReviewedUser }
  | { readonly authenticated: false; readonly error?: string };

export interface AccessReviewAnswer {
  readonly allowed: boolean;
  /** The authorizer's reason (for logs: it may name role bindings, so it is not for callers). */
  readonly reason?: string;
}

export interface AccessReviewer {
  /** TokenReview; throws ReviewUnavailableError when the API server cannot answer. */
  reviewToken(token: string): Promise<TokenReviewAnswer>;
  /** SubjectAccessReview; throws ReviewUnavailableError when the API server cannot answer. */
  reviewAccess(user: ReviewedUser, check: ResourceCheck): Promise<AccessReviewAnswer>;
}

/** A review could not be made (unreachable, refused, timed out, unreadable): never an answer. */
export class ReviewUnavailableError extends KubeApiError {}

/** How long one review may take: the caller waits for it (a dashboard, a CLI). */
export const REVIEW_TIMEOUT_MS = 5_000;

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

async function withDeadline<T>(what: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReviewUnavailableError(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([run(), timeout]);
  } catch (err) {
    if (err instanceof ReviewUnavailableError) throw err;
    const code = statusOf(err);
    throw new ReviewUnavailableError(`${what} failed${code ? ` (HTTP ${code})` : ""}: ${(err as Error).message ?? String(err)}`, code, err);
  } finally {
    clearTimeout(timer);
  }
}

/** Read a TokenReview's status (exported for tests of odd answers). */
export function toTokenReviewAnswer(review: V1TokenReview): TokenReviewAnswer {
  const status = review.status;
  if (status?.authenticated !== true) return { authenticated: false, ...(status?.error && { error: status.error }) };
  const username = status.user?.username;
  if (typeof username !== "string" || username === "") {
    throw new ReviewUnavailableError("TokenReview answered authenticated without a username");
  }
  return {
    authenticated: true,
    user: {
      username,
      ...(status.user?.uid && { uid: status.user.uid }),
      groups: status.user?.groups ?? [],
      ...(status.user?.extra && { extra: status.user.extra }),
    },
  };
}

/** The SubjectAccessReview asking `check` for `user`. */
export function createSubjectAccessReview(user: ReviewedUser, check: ResourceCheck): V1SubjectAccessReview {
  return {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    metadata: {},
    spec: {
      user: user.username,
      ...(user.uid !== undefined && { uid: user.uid }),
      groups: [...user.groups],
      ...(user.extra !== undefined && { extra: Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]])) }),
      resourceAttributes: {
        verb: check.verb,
        group: check.group,
        resource: check.resource,
        ...(check.namespace !== null && { namespace: check.namespace }),
      },
    },
  };
}

/**
 * The reviewer over a KubeConfig (the injector's own ServiceAccount). The client library is
 * loaded on the first review, so a server whose endpoints nobody calls does not pay for it.
 */
export function createAccessReviewer(kc: KubeConfig, timeoutMs: number = REVIEW_TIMEOUT_MS): AccessReviewer {
  let apis: Promise<{ authn: import("@kubernetes/client-node").AuthenticationV1Api; authz: import("@kubernetes/client-node").AuthorizationV1Api }> | undefined;
  const clients = () =>
    (apis ??= import("@kubernetes/client-node").then((k8s) => ({
      authn: kc.makeApiClient(k8s.AuthenticationV1Api),
      authz: kc.makeApiClient(k8s.AuthorizationV1Api),
    })));
  return {
    async reviewToken(token) {
      const { authn } = await clients();
      const review = await withDeadline("TokenReview", timeoutMs, () =>
        authn.createTokenReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", metadata: {}, spec: { token } } }),
      );
      return toTokenReviewAnswer(review);
    },
    async reviewAccess(user, check) {
      const { authz } = await clients();
      const review = await withDeadline("SubjectAccessReview", timeoutMs, () => authz.createSubjectAccessReview({ body: createSubjectAccessReview(user, check) }));
      const allowed = review.status?.allowed;
      if (typeof allowed !== "boolean") throw new ReviewUnavailableError("SubjectAccessReview answered without status.allowed");
      return { allowed: allowed && review.status?.denied !== true, ...(review.status?.reason && { reason: review.status.reason }) };
    },
  };
}
