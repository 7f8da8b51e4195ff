/**
 * Callers of GET /audit and GET /explain for the tests: users the test API server knows by their
 * token (TokenReview) with what each may do (SubjectAccessReview), and the real guard over the
 * real client against it.
 */
import { createDelegatedAuth, type Authorize, type DelegatedAuthOptions } from "../../src/http/delegated-auth.js";
import { createAccessReviewer } from "../../src/kube/access-review.js";
import { type FakeApiServer, type FakeApiServerOptions, type FakeUser, startFakeApiServer } from "./fake-apiserver.js";

/** The names the RBAC rows refer to, for a test API server that enforces the injector's RBAC. */
export const INJECTOR_NAMES = { namespace: "sidecar-injector", secret: "sidecar-injector-certs", webhookConfig: "sidecar-injector" } as const;
/** The injector's own token (its ServiceAccount): it makes the reviews. */
export const INJECTOR_TOKEN = "injector-token";

export const Callers = {
  /** May list pods in every namespace (a cluster viewer). */
  viewer: { token: "viewer-token", username: "viewer", groups: ["ops"], grants: [{ verb: "list", resource: "pods" }] },
  /** May list pods in shop only. */
  shopDev: { token: "shop-dev-token", username: "shop-dev", grants: [{ verb: "list", resource: "pods", namespace: "shop" }, { verb: "get", resource: "pods", namespace: "shop" }] },
  /** Authenticated, may do nothing. */
  nobody: { token: "nobody-token", username: "nobody", grants: [] },
  /** May get pods everywhere, but not list them. */
  getter: { token: "getter-token", username: "getter", grants: [{ verb: "get", resource: "pods" }] },
  /** May list deployments everywhere, not pods. */
  deployLister: { token: "deploy-lister-token", username: "deploy-lister", grants: [{ verb: "list", resource: "deployments", group: "apps" }] },
} as const satisfies Record<string, FakeUser>;

export const bearer = (user: FakeUser) => `Bearer ${user.token}`;

export interface ReportAuth {
  readonly fake: FakeApiServer;
  readonly authorize: Authorize;
  /** TokenReview and SubjectAccessReview requests the test API server received. */
  reviews(): { tokenReviews: number; accessReviews: number };
}

/** A test API server with `Callers` (and its RBAC for the injector's token) and a guard over it. */
export async function startReportAuth(
  guard: Omit<DelegatedAuthOptions, "reviewer"> & { timeoutMs?: number } = {},
  server: FakeApiServerOptions = {},
): Promise<ReportAuth> {
  const fake = await startFakeApiServer({ rbac: INJECTOR_NAMES, users: Object.values(Callers), ...server });
  const { timeoutMs, ...rest } = guard;
  const authorize = createDelegatedAuth({ reviewer: createAccessReviewer(fake.kubeConfig(INJECTOR_TOKEN), timeoutMs), ...rest });
  return {
    fake,
    authorize,
    reviews: () => ({
      tokenReviews: fake.requests.filter((r) => r === "POST /apis/authentication.k8s.io/v1/tokenreviews").length,
      accessReviews: fake.requests.filter((r) => r === "POST /apis/authorization.k8s.io/v1/subjectaccessreviews").length,
    }),
  };
}
