/**
 * GET /audit and GET /explain answer only callers the cluster's RBAC lets list pods: the guard
 * (src/http/delegated-auth.ts) over the real client (src/kube/access-review.ts) against the test
 * API server, which answers TokenReview and SubjectAccessReview as the real one does and enforces
 * the injector's own RBAC (src/kube/api-calls.ts) on the reviews it makes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import request from "supertest";
import { auditCluster } from "../../src/audit/audit.js";
import { type ExplainTarget, explainCluster } from "../../src/explain/cluster.js";
import { AUTH_CACHE, Challenge } from "../../src/http/delegated-auth.js";
import { silentLogger } from "../../src/log.js";
import { aPod, reviewFor, testApp, testContext } from "../support/builders.js";
import { Callers, INJECTOR_TOKEN, type ReportAuth, bearer, startReportAuth } from "../support/report-auth.js";

const objects = [
  { kind: "Namespace", metadata: { name: "shop", labels: { "istio-injection": "enabled" } } },
  { kind: "Namespace", metadata: { name: "bank", labels: { "istio-injection": "enabled" } } },
  { kind: "Pod", metadata: { name: "web-1", namespace: "shop" }, spec: { containers: [{ name: "app", image: "registry.example/web:1.2" }] } },
  { kind: "Pod", metadata: { name: "vault-0", namespace: "bank", annotations: { secret: "s3cr3t" } }, spec: { containers: [{ name: "vault", image: "registry.example/vault:9" }] } },
];
const context = testContext();
const report = auditCluster(objects, { template: context.template });
const explain = (target: ExplainTarget) => explainCluster(objects, target, { context, webhookConfigsListed: false });
/** Anything of the cluster a refusal must not carry. */
const CLUSTER_DATA = ["web-1", "vault-0", "registry.example", "s3cr3t", "missing_sidecar", "objects", "summary"];

let auth: ReportAuth;
let clock = 0;
beforeAll(async () => {
  auth = await startReportAuth({ now: () => clock });
});
afterAll(() => auth.fake.close());

const app = () => testApp({ audit: () => report, explain, authorize: auth.authorize });

describe("who may see /audit and /explain", () => {
  it.each<[string, string, string | undefined, number]>([
    ["a cluster viewer: the audit", "/audit", bearer(Callers.viewer), 200],
    ["a cluster viewer: explain, every namespace", "/explain", bearer(Callers.viewer), 200],
    ["a cluster viewer: explain, one namespace", "/explain?namespace=bank", bearer(Callers.viewer), 200],
    ["a namespace user: explain in its namespace", "/explain?namespace=shop", bearer(Callers.shopDev), 200],
    ["a namespace user: one object in its namespace", "/explain?namespace=shop&kind=pod&name=web-1", bearer(Callers.shopDev), 200],
    ["a namespace user: explain in another namespace", "/explain?namespace=bank", bearer(Callers.shopDev), 403],
    ["a namespace user: explain, every namespace", "/explain", bearer(Callers.shopDev), 403],
    ["a namespace user: the audit", "/audit", bearer(Callers.shopDev), 403],
    ["a user with get but not list", "/audit", bearer(Callers.getter), 403],
    ["a user who may list deployments, not pods", "/explain?namespace=shop", bearer(Callers.deployLister), 403],
    ["a user with no rights", "/explain?namespace=shop", bearer(Callers.nobody), 403],
    ["no token", "/audit", undefined, 401],
    ["a wrong token", "/explain?namespace=shop", "Bearer not-a-known-token", 401],
    ["the injector's own token is not a caller", "/audit", `Bearer ${INJECTOR_TOKEN}`, 401],
  ])("%s → %s", async (_name, path, authorization, status) => {
    const req = request(app()).get(path);
    const res = await (authorization === undefined ? req : req.set("Authorization", authorization));
    expect(res.status).toBe(status);
  });

  it("serves the namespace user only its namespace's objects", async () => {
    const res = await request(app()).get("/explain?namespace=shop").set("Authorization", bearer(Callers.shopDev));
    expect(res.body.objects.map((o: { object: string }) => o.object)).toEqual(["Pod/shop/web-1"]);
  });

  it("the injector made every review with its own token, within its RBAC", () => {
    expect(auth.fake.denied).toEqual([]);
    expect(auth.reviews().tokenReviews).toBeGreaterThan(0);
    expect(auth.reviews().accessReviews).toBeGreaterThan(0);
  });
});

describe("refusals: their bodies, named cases", () => {
  it.each<[string, string, Record<string, string>, number, { code: string; message: string }, string | undefined]>([
    [
      "no Authorization header",
      "/audit",
      {},
      401,
      { code: "UNAUTHORIZED", message: "this endpoint needs Authorization: Bearer <token> (a ServiceAccount token, or kubectl create token)" },
      Challenge.Missing,
    ],
    [
      "another scheme (Basic)",
      "/audit",
      { Authorization: "Basic dmlld2VyOnB3" },
      401,
      { code: "UNAUTHORIZED", message: "this endpoint needs Authorization: Bearer <token> (a ServiceAccount token, or kubectl create token)" },
      Challenge.Missing,
    ],
    [
      "Bearer without a token",
      "/explain",
      { Authorization: "Bearer " },
      401,
      { code: "UNAUTHORIZED", message: "this endpoint needs Authorization: Bearer <token> (a ServiceAccount token, or kubectl create token)" },
      Challenge.Missing,
    ],
    [
      "a token the API server does not know",
      "/explain",
      { Authorization: "Bearer web-1-vault-0" },
      401,
      { code: "UNAUTHORIZED", message: "the bearer token was not authenticated by the API server" },
      Challenge.InvalidToken,
    ],
    [
      "a namespace user asking for the audit",
      "/audit",
      { Authorization: bearer(Callers.shopDev) },
      403,
      { code: "FORBIDDEN", message: 'user "shop-dev" may not list pods cluster-wide (in every namespace)' },
      undefined,
    ],
    [
      "a namespace user asking for every namespace",
      "/explain?output=table",
      { Authorization: bearer(Callers.shopDev) },
      403,
      { code: "FORBIDDEN", message: 'user "shop-dev" may not list pods cluster-wide (in every namespace)' },
      undefined,
    ],
    [
      "a namespace user asking for another namespace",
      "/explain?namespace=bank&kind=pod&name=vault-0",
      { Authorization: bearer(Callers.shopDev) },
      403,
      { code: "FORBIDDEN", message: 'user "shop-dev" may not list pods in namespace "bank"' },
      undefined,
    ],
  ])("%s", async (_name, path, headers, status, body, challenge) => {
    const res = await request(app()).get(path).set(headers);
    expect(res.status).toBe(status);
    expect(res.headers["content-type"]).toContain("application/json");
    expect(res.body).toEqual(body);
    expect(res.headers["www-authenticate"]).toBe(challenge);
    for (const data of CLUSTER_DATA) expect({ data, leaked: res.text.includes(data) }).toEqual({ data, leaked: false });
  });
});

describe("when the API server cannot answer: 503, never an allow", () => {
  const hang = (path: string) => (req: IncomingMessage, _res: ServerResponse) => req.url === path;
  const failWith = (path: string, code: number) => (req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== path) return false;
    res.writeHead(code, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, message: "refused" }));
    return true;
  };
  const TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews";
  const ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
  const started: ReportAuth[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) await s.fake.close();
  });

  it.each<[string, ((req: IncomingMessage, res: ServerResponse) => boolean) | "down"]>([
    ["the API server is down", "down"],
    ["the TokenReview hangs", hang(TOKEN_REVIEWS)],
    ["the SubjectAccessReview hangs", hang(ACCESS_REVIEWS)],
    ["the TokenReview is refused (the injector lacks the RBAC)", failWith(TOKEN_REVIEWS, 403)],
    ["the SubjectAccessReview fails (500)", failWith(ACCESS_REVIEWS, 500)],
  ])("%s", async (_name, scripted) => {
    const s = await startReportAuth({ timeoutMs: 200, now: () => 0 }, scripted === "down" ? {} : { intercept: scripted });
    started.push(s);
    if (scripted === "down") await s.fake.close();
    const guarded = testApp({ audit: () => report, explain, authorize: s.authorize });
    for (const path of ["/audit", "/explain?namespace=shop"]) {
      const res = await request(guarded).get(path).set("Authorization", bearer(Callers.viewer));
      expect(res.status).toBe(503);
      expect(res.body.code).toBe("REVIEW_UNAVAILABLE");
      expect(res.body.message).toMatch(/^cannot check the caller's access: the (TokenReview|SubjectAccessReview) did not get an answer from the API server$/);
    }
  });

  it("a failure is not cached: the next request asks again", async () => {
    let failing = true;
    const s = await startReportAuth({ now: () => 0 }, { intercept: (req, res) => failing && failWith(TOKEN_REVIEWS, 503)(req, res) });
    started.push(s);
    const guarded = testApp({ audit: () => report, authorize: s.authorize });
    expect((await request(guarded).get("/audit").set("Authorization", bearer(Callers.viewer))).status).toBe(503);
    failing = false;
    expect((await request(guarded).get("/audit").set("Authorization", bearer(Callers.viewer))).status).toBe(200);
  });
});

describe("the review cache", () => {
  it("keeps an allow for 10 s, then asks again", async () => {
    const s = await startReportAuth({ now: () => clock });
    try {
      const guarded = testApp({ audit: () => report, authorize: s.authorize });
      const get = () => request(guarded).get("/audit").set("Authorization", bearer(Callers.viewer));
      clock = 1_000;
      expect((await get()).status).toBe(200);
      expect((await get()).status).toBe(200);
      expect(s.reviews()).toEqual({ tokenReviews: 1, accessReviews: 1 });
      clock += AUTH_CACHE.allowedTtlMs - 1;
      expect((await get()).status).toBe(200);
      expect(s.reviews()).toEqual({ tokenReviews: 1, accessReviews: 1 });
      clock += 1;
      expect((await get()).status).toBe(200);
      expect(s.reviews()).toEqual({ tokenReviews: 2, accessReviews: 2 });
    } finally {
      await s.fake.close();
    }
  });

  it("keeps a denial for 2 s, and an unknown token for 2 s", async () => {
    const s = await startReportAuth({ now: () => clock });
    try {
      const guarded = testApp({ audit: () => report, authorize: s.authorize });
      const get = (authorization: string) => request(guarded).get("/audit").set("Authorization", authorization);
      clock = 50_000;
      expect((await get(bearer(Callers.nobody))).status).toBe(403);
      expect((await get(bearer(Callers.nobody))).status).toBe(403);
      expect((await get("Bearer unknown")).status).toBe(401);
      expect((await get("Bearer unknown")).status).toBe(401);
      expect(s.reviews()).toEqual({ tokenReviews: 2, accessReviews: 1 });
      clock += AUTH_CACHE.deniedTtlMs;
      expect((await get(bearer(Callers.nobody))).status).toBe(403);
      expect((await get("Bearer unknown")).status).toBe(401);
      // nobody's token was authenticated (kept 10 s); its denial and the unknown token were not.
      expect(s.reviews()).toEqual({ tokenReviews: 3, accessReviews: 2 });
    } finally {
      await s.fake.close();
    }
  });

  it("keys access by namespace: an allow in one namespace is not an allow in another", async () => {
    const s = await startReportAuth({ now: () => 0 });
    try {
      const guarded = testApp({ explain, authorize: s.authorize });
      const get = (path: string) => request(guarded).get(path).set("Authorization", bearer(Callers.shopDev));
      expect((await get("/explain?namespace=shop")).status).toBe(200);
      expect((await get("/explain?namespace=bank")).status).toBe(403);
      expect((await get("/explain")).status).toBe(403);
      expect(s.reviews()).toEqual({ tokenReviews: 1, accessReviews: 3 });
    } finally {
      await s.fake.close();
    }
  });

  it("holds a bounded number of answers: the oldest token is asked about again", async () => {
    const s = await startReportAuth({ now: () => 0, maxEntries: 2 });
    try {
      const guarded = testApp({ audit: () => report, authorize: s.authorize });
      const get = (token: string) => request(guarded).get("/audit").set("Authorization", `Bearer ${token}`);
      for (const user of [Callers.viewer, Callers.nobody]) await get(user.token);
      await get(Callers.viewer.token);
      expect(s.reviews().tokenReviews).toBe(2);
      await get(Callers.getter.token); // a third token: the oldest entry (nobody) goes
      expect(s.reviews().tokenReviews).toBe(3);
      await get(Callers.viewer.token);
      expect(s.reviews().tokenReviews).toBe(3);
      await get(Callers.nobody.token);
      expect(s.reviews().tokenReviews).toBe(4);
    } finally {
      await s.fake.close();
    }
  });
});

describe("the endpoints without cluster data stay open", () => {
  it("/inject, /preview, /healthz, /readyz and /metrics need no token", async () => {
    const guarded = testApp({ audit: () => report, explain, authorize: auth.authorize });
    const review = await request(guarded).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(aPod())));
    expect(review.status).toBe(200);
    expect(review.body.response.allowed).toBe(true);
    const preview = await request(guarded).post("/preview").set("Content-Type", "application/json").send(JSON.stringify(aPod()));
    expect(preview.status).toBe(200);
    expect(preview.body.results).toHaveLength(1);
    expect((await request(guarded).get("/healthz")).status).toBe(200);
    expect((await request(guarded).get("/readyz")).status).toBe(200);
    expect((await request(guarded).get("/metrics")).status).toBe(404); // no metrics in this app: not a 401
  });

  it("an app that serves /audit or /explain without a guard is refused at construction", () => {
    expect(() => testApp({ audit: () => report })).toThrow(/need deps.authorize/);
    expect(() => testApp({ explain })).toThrow(/need deps.authorize/);
    expect(() => testApp({ logger: silentLogger() })).not.toThrow();
  });
});
