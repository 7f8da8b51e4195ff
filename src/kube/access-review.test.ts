/**
 * The review boundary through the real client against the test API server: the request shape the
 * API server sees, its answers read back, and every way of not getting an answer as
 * ReviewUnavailableError.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "@jest/globals";
import { type FakeApiServer, startFakeApiServer } from "../../test/support/fake-apiserver.js";
import { Callers, INJECTOR_NAMES, INJECTOR_TOKEN } from "../../test/support/report-auth.js";
import { ReviewUnavailableError, createAccessReviewer, createSubjectAccessReview, toTokenReviewAnswer } from "./access-review.js";

let api: FakeApiServer | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function reviewer(intercept?: (req: IncomingMessage, res: ServerResponse) => boolean) {
  api = await startFakeApiServer({ rbac: INJECTOR_NAMES, users: Object.values(Callers), ...(intercept && { intercept }) });
  return createAccessReviewer(api.kubeConfig(INJECTOR_TOKEN), 200);
}

const viewer = { username: "viewer", uid: "uid-viewer", groups: ["ops", "system:authenticated"] };
const listPods = (namespace: string | null) => ({ verb: "list", group: "", resource: "pods", namespace });

describe("reviewToken", () => {
  it("finds the user of a known token, with uid and groups", async () => {
    const r = await reviewer();
    expect(await r.reviewToken(Callers.viewer.token)).toEqual({ authenticated: true, user: viewer });
  });
  it("says an unknown token is not authenticated, with the API server's error", async () => {
    const r = await reviewer();
    expect(await r.reviewToken("unknown")).toEqual({ authenticated: false, error: "[invalid bearer token, token lookup failed]" });
  });
  it("is made with the injector's own token, within its RBAC", async () => {
    const r = await reviewer();
    await r.reviewToken(Callers.viewer.token);
    expect(api?.requests).toEqual(["POST /apis/authentication.k8s.io/v1/tokenreviews"]);
    expect(api?.denied).toEqual([]);
  });
});

describe("reviewAccess", () => {
  it.each<[string, typeof viewer, string | null, boolean]>([
    ["a cluster-wide grant, cluster-wide", viewer, null, true],
    ["a cluster-wide grant, in a namespace", viewer, "shop", true],
    ["a namespace grant, in its namespace", { username: "shop-dev", uid: "u", groups: [] }, "shop", true],
    ["a namespace grant, in another namespace", { username: "shop-dev", uid: "u", groups: [] }, "bank", false],
    ["a namespace grant, cluster-wide", { username: "shop-dev", uid: "u", groups: [] }, null, false],
    ["a user the server does not know", { username: "ghost", uid: "u", groups: [] }, null, false],
  ])("%s → allowed %s", async (_name, user, namespace, allowed) => {
    const r = await reviewer();
    expect((await r.reviewAccess(user, listPods(namespace))).allowed).toBe(allowed);
  });
});

describe("no answer is ReviewUnavailableError, never an answer", () => {
  const answerWith = (code: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(code, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
    return true;
  };
  it.each<[string, ((req: IncomingMessage, res: ServerResponse) => boolean) | "down", RegExp]>([
    ["the API server is down", "down", /TokenReview failed/],
    ["it hangs", () => true, /TokenReview timed out after 200 ms/],
    ["it refuses the injector (403)", answerWith(403, { kind: "Status", code: 403, message: "forbidden" }), /TokenReview failed \(HTTP 403\)/],
    ["it answers without a user", answerWith(201, { kind: "TokenReview", status: { authenticated: true, user: {} } }), /without a username/],
  ])("%s", async (_name, scripted, message) => {
    const r = await reviewer(scripted === "down" ? undefined : scripted);
    if (scripted === "down") await api?.close();
    const attempt = r.reviewToken(Callers.viewer.token);
    await expect(attempt).rejects.toThrow(ReviewUnavailableError);
    await expect(attempt).rejects.toThrow(message);
  });
  it("a SubjectAccessReview without status.allowed", async () => {
    const r = await reviewer(answerWith(201, { kind: "SubjectAccessReview", status: {} }));
    await expect(r.reviewAccess(viewer, listPods(null))).rejects.toThrow(/without status.allowed/);
  });
  it("a SubjectAccessReview that is denied outright, even when marked allowed", async () => {
    const r = await reviewer(answerWith(201, { kind: "SubjectAccessReview", status: { allowed: true, denied: true } }));
    expect((await r.reviewAccess(viewer, listPods(null))).allowed).toBe(false);
  });
});

describe("the objects sent", () => {
  it("a SubjectAccessReview carries the reviewed user and resourceAttributes; cluster-wide has no namespace", () => {
    expect(createSubjectAccessReview({ ...viewer, extra: { scopes: ["a"] } }, listPods(null))).toEqual({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      metadata: {},
      spec: { user: "viewer", uid: "uid-viewer", groups: ["ops", "system:authenticated"], extra: { scopes: ["a"] }, resourceAttributes: { verb: "list", group: "", resource: "pods" } },
    });
    expect(createSubjectAccessReview(viewer, listPods("shop")).spec.resourceAttributes?.namespace).toBe("shop");
  });
  it.each([
    ["no status", {}, { authenticated: false }],
    ["authenticated: false with an error", { status: { authenticated: false, error: "expired" } }, { authenticated: false, error: "expired" }],
    ["authenticated without groups", { status: { authenticated: true, user: { username: "u" } } }, { authenticated: true, user: { username: "u", groups: [] } }],
  ])("reads a TokenReview with %s", (_name, review, answer) => {
    expect(toTokenReviewAnswer({ spec: {}, ...review })).toEqual(answer);
  });
});

describe("the test API server refuses malformed reviews as the real one does", () => {
  const post = async (path: string, body: unknown) => {
    api = await startFakeApiServer({ users: Object.values(Callers) });
    const res = await fetch(`${api.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { reason?: string; message?: string } };
  };
  it.each<[string, string, unknown, number, string]>([
    ["a TokenReview without a token", "/apis/authentication.k8s.io/v1/tokenreviews", { kind: "TokenReview", spec: {} }, 400, "token is required"],
    [
      "a SubjectAccessReview without user or groups",
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      { kind: "SubjectAccessReview", spec: { resourceAttributes: { verb: "list", resource: "pods" } } },
      422,
      "at least one of user or group must be specified",
    ],
    [
      "a SubjectAccessReview without attributes",
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      { kind: "SubjectAccessReview", spec: { user: "viewer" } },
      422,
      "exactly one of nonResourceAttributes or resourceAttributes",
    ],
  ])("%s", async (_name, path, body, status, message) => {
    const res = await post(path, body);
    expect(res.status).toBe(status);
    expect(res.body.message).toContain(message);
  });
});
