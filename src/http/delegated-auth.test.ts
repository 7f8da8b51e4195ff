/** The guard's pure parts: the bearer header, the check a scope needs, the cache; and its decisions over a scripted reviewer. */
import { describe, expect, it } from "@jest/globals";
import type { AccessReviewer, ResourceCheck, ReviewedUser } from "../kube/access-review.js";
import { ReviewUnavailableError } from "../kube/access-review.js";
import { createLogger } from "../log.js";
import { AUTH_CACHE, ExpiringCache, createDelegatedAuth, describeCheck, parseBearer, requiredCheck } from "./delegated-auth.js";

describe("parseBearer", () => {
  it.each<[string, string | undefined, string | null]>([
    ["a token", "Bearer abc.def-ghi_", "abc.def-ghi_"],
    ["the scheme in any case", "bearer abc", "abc"],
    ["extra spaces", "Bearer   abc  ", "abc"],
    ["no header", undefined, null],
    ["an empty header", "", null],
    ["Bearer alone", "Bearer", null],
    ["Bearer and a space", "Bearer ", null],
    ["another scheme", "Basic YTpi", null],
    ["two tokens", "Bearer a b", null],
    ["a token without the scheme", "abc", null],
  ])("%s", (_name, header, token) => {
    expect(parseBearer(header)).toBe(token);
  });
});

describe("the check a scope needs", () => {
  it.each<[string, string | null, string]>([
    ["every namespace", null, "list pods cluster-wide (in every namespace)"],
    ["one namespace", "shop", 'list pods in namespace "shop"'],
  ])("%s", (_name, namespace, text) => {
    const check = requiredCheck({ namespace });
    expect(check).toEqual({ verb: "list", group: "", resource: "pods", namespace });
    expect(describeCheck(check)).toBe(text);
  });
  it("names the group of a non-core resource", () => {
    expect(describeCheck({ verb: "list", group: "apps", resource: "deployments", namespace: null })).toBe("list deployments.apps cluster-wide (in every namespace)");
  });
});

describe("ExpiringCache", () => {
  it("forgets an entry at its time", () => {
    let now = 100;
    const cache = new ExpiringCache<string>(10, () => now);
    cache.set("a", "A", 50);
    now = 149;
    expect(cache.get("a")).toBe("A");
    now = 150;
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size).toBe(0);
  });
  it("holds at most maxEntries: expired entries go first, then the least recently used", () => {
    let now = 0;
    const cache = new ExpiringCache<number>(2, () => now);
    cache.set("short", 1, 10);
    cache.set("long", 2, 1_000);
    now = 20;
    cache.set("new", 3, 1_000);
    expect([cache.get("short"), cache.get("long"), cache.get("new")]).toEqual([undefined, 2, 3]);
    cache.get("long");
    cache.set("newest", 4, 1_000);
    expect([cache.get("new"), cache.get("long"), cache.get("newest")]).toEqual([undefined, 2, 4]);
    expect(cache.size).toBe(2);
  });
  it.each([0, -1, 1.5])("refuses maxEntries %s", (n) => {
    expect(() => new ExpiringCache(n, () => 0)).toThrow(RangeError);
  });
});

describe("createDelegatedAuth over a scripted reviewer", () => {
  const alice: ReviewedUser = { username: "alice", groups: [] };
  const scripted = (over: Partial<AccessReviewer> = {}): AccessReviewer & { calls: string[] } => {
    const calls: string[] = [];
    return {
      calls,
      reviewToken: async (token) => {
        calls.push(`token ${token}`);
        return token === "good" ? { authenticated: true, user: alice } : { authenticated: false };
      },
      reviewAccess: async (user: ReviewedUser, check: ResourceCheck) => {
        calls.push(`access ${user.username} ${check.namespace ?? "*"}`);
        return { allowed: check.namespace === "shop", reason: "RBAC: a binding name" };
      },
      ...over,
    };
  };
  const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } });

  it.each<[string, string | undefined, string | null, object]>([
    ["allowed", "Bearer good", "shop", { allowed: true, user: "alice" }],
    ["forbidden", "Bearer good", "bank", { allowed: false, status: 403, code: "FORBIDDEN", message: 'user "alice" may not list pods in namespace "bank"' }],
    ["not authenticated", "Bearer bad", "shop", { allowed: false, status: 401, code: "UNAUTHORIZED", challenge: 'Bearer error="invalid_token"' }],
    ["no token", undefined, "shop", { allowed: false, status: 401, code: "UNAUTHORIZED", challenge: "Bearer" }],
  ])("%s", async (_name, authorization, namespace, result) => {
    const authorize = createDelegatedAuth({ reviewer: scripted(), now: () => 0 });
    expect(await authorize(req(authorization), { namespace })).toMatchObject(result);
  });

  it("never tells the caller the authorizer's reason (it may name role bindings)", async () => {
    const authorize = createDelegatedAuth({ reviewer: scripted(), now: () => 0 });
    expect(JSON.stringify(await authorize(req("Bearer good"), { namespace: "bank" }))).not.toContain("binding");
  });

  it("a reviewer that throws anything is a 503, never an allow", async () => {
    for (const failure of [new ReviewUnavailableError("down"), new Error("surprise")]) {
      const authorize = createDelegatedAuth({ reviewer: scripted({ reviewAccess: async () => Promise.reject(failure) }), now: () => 0 });
      expect(await authorize(req("Bearer good"), { namespace: "shop" })).toMatchObject({ allowed: false, status: 503, code: "REVIEW_UNAVAILABLE" });
    }
  });

  it("concurrent requests with one token share one review", async () => {
    const reviewer = scripted();
    const authorize = createDelegatedAuth({ reviewer, now: () => 0 });
    const answers = await Promise.all([1, 2, 3].map(() => authorize(req("Bearer good"), { namespace: "shop" })));
    expect(answers.every((a) => a.allowed)).toBe(true);
    expect(reviewer.calls).toEqual(["token good", "access alice shop"]);
  });

  it("logs who was refused and why, never the token", async () => {
    const lines: string[] = [];
    const logger = createLogger("debug", { write: (line: string) => void lines.push(line) });
    const failing = scripted({ reviewToken: async (token) => (token === "secret-down" ? Promise.reject(new ReviewUnavailableError("down")) : scripted().reviewToken(token)) });
    const authorize = createDelegatedAuth({ reviewer: failing, now: () => 0, logger });
    for (const token of ["good", "secret-unknown", "secret-down"]) await authorize(req(`Bearer ${token}`), { namespace: "bank" });
    const logged = lines.join("");
    expect(logged).toContain("report endpoint: access denied");
    expect(logged).toContain("report endpoint: token not authenticated");
    expect(logged).toContain("answering 503");
    expect(logged).not.toContain("secret-");
  });

  it("the default times are 10 s for an allow and 2 s for a denial", () => {
    expect(AUTH_CACHE).toMatchObject({ allowedTtlMs: 10_000, deniedTtlMs: 2_000 });
  });
});
