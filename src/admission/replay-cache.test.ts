import { createHash } from "node:crypto";
import { describe, expect, it } from "@jest/globals";
import { aPod, reviewFor, testContext } from "../../test/support/builders.js";
import { silentLogger } from "../log.js";
import { createMetrics } from "../metrics.js";
import type { InjectionContext } from "../injection/pipeline.js";
import { handleAdmission, replayAdmission } from "./handler.js";
import { REPLAY_MAX_REVIEW_BYTES, ReplayCache, type StoredAnswer, replayKey } from "./replay-cache.js";
import { parseAdmissionReview } from "./review.js";

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64");
}

describe("replayKey", () => {
  it.each([
    ["cuts the first uid out", '{"request":{"uid":"u-1","object":{"metadata":{"uid":"x"}}}}', { key: sha256('{"request":{"uid":"","object":{"metadata":{"uid":"x"}}}}'), uid: "u-1" }],
    ["reads a uid of any characters but a quote or backslash", '{"request":{"uid":"é-1"}}', { key: sha256('{"request":{"uid":""}}'), uid: "é-1" }],
    ["refuses a text without a uid", '{"request":{}}', undefined],
    ["refuses an empty uid", '{"request":{"uid":""}}', undefined],
    ["refuses an escaped uid", '{"request":{"uid":"a\\"b"}}', undefined],
    ["refuses an unterminated uid", '{"request":{"uid":"abc', undefined],
    ["refuses a large review", `{"request":{"uid":"u-1","x":"${"a".repeat(REPLAY_MAX_REVIEW_BYTES)}"}}`, undefined],
  ])("%s", (_name, text, expected) => {
    expect(replayKey(text)).toEqual(expected);
    expect(replayKey(Buffer.from(text))).toEqual(expected);
  });

  it("gives reviews that differ only in their uid the same key, and any other difference another", () => {
    const review = (uid: string, owner: string) => JSON.stringify(reviewFor(aPod({ annotations: { owner } }), { uid }));
    expect(replayKey(review("u-1", "a"))?.key).toBe(replayKey(review("u-2", "a"))?.key);
    expect(replayKey(review("u-1", "a"))?.key).not.toBe(replayKey(review("u-1", "b"))?.key);
  });
});

describe("ReplayCache", () => {
  it("keeps the most recently used answers up to its capacity", () => {
    const cache = new ReplayCache(2);
    const stored = { contextId: 1, namespace: "a", labels: "-", apiVersion: "admission.k8s.io/v1", fields: { pod: "p", operation: "CREATE", dryRun: false }, entry: { response: { allowed: true }, outcome: { result: "inject" }, log: { decision: "inject", reasons: [], decidedBy: "namespace", patchOps: 1 } } } as StoredAnswer;
    cache.set("a", stored);
    cache.set("b", stored);
    cache.get("a");
    cache.set("c", stored);
    expect([cache.get("a") !== undefined, cache.get("b") !== undefined, cache.get("c") !== undefined]).toEqual([true, false, true]);
    expect(cache.size).toBe(2);
  });

  const answer = (patch?: string): StoredAnswer =>
    ({
      contextId: 1,
      namespace: "a",
      labels: "-",
      apiVersion: "admission.k8s.io/v1",
      fields: { pod: "p", operation: "CREATE", dryRun: false },
      entry: {
        response: { allowed: true, ...(patch !== undefined && { patchType: "JSONPatch", patch }), warnings: ["w"] },
        outcome: { result: "inject" },
        log: { decision: "inject", reasons: [], decidedBy: "namespace", patchOps: 1 },
      },
    }) as StoredAnswer;

  it("gives a stored patch back whole, with the response's other fields in their order", () => {
    const cache = new ReplayCache(8, 64);
    cache.set("a", answer("QUJD"));
    cache.set("b", answer());
    expect(cache.get("a")?.entry.response).toEqual({ allowed: true, patchType: "JSONPatch", patch: "QUJD", warnings: ["w"] });
    expect(Object.keys(cache.get("a")?.entry.response ?? {})).toEqual(["allowed", "patchType", "warnings", "patch"]);
    expect(cache.get("b")?.entry.response).toEqual({ allowed: true, warnings: ["w"] });
  });

  it.each([
    // Ring of 64 bytes; patches of 12: the sixth write comes round over the first.
    ["keeps patches until the ring comes round over them", 5, [true, true, true, true, true]],
    ["misses an answer whose patch was written over", 6, [false, true, true, true, true, true]],
    ["misses every answer written over in a second round", 11, [false, false, false, false, false, false, true, true, true, true, true]],
  ])("%s", (_name, writes, kept) => {
    const cache = new ReplayCache(100, 64);
    for (let i = 0; i < writes; i++) cache.set(`k${i}`, answer(String(i).padStart(12, "x")));
    expect(Array.from({ length: writes }, (_, i) => cache.get(`k${i}`)?.entry.response.patch === String(i).padStart(12, "x"))).toEqual(kept);
  });

  it("does not wrap a patch round the end of the ring, and does not keep one over a quarter of it", () => {
    const cache = new ReplayCache(100, 64);
    cache.set("a", answer("a".repeat(16)));
    cache.set("b", answer("b".repeat(16)));
    cache.set("c", answer("c".repeat(16)));
    cache.set("d", answer("d".repeat(10)));
    cache.set("e", answer("e".repeat(16))); // does not fit in the last 6 bytes: starts the next round
    expect(["a", "b", "c", "d", "e"].map((k) => cache.get(k)?.entry.response.patch?.[0])).toEqual([undefined, "b", "c", "d", "e"]);
    cache.set("big", answer("z".repeat(17)));
    expect(cache.get("big")).toBeUndefined();
    expect(cache.get("e")?.entry.response.patch).toBe("e".repeat(16));
  });
});

describe("the admission path with a replay cache", () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = silentLogger();
  logger.info = ((fields: Record<string, unknown>) => void lines.push(fields)) as never;

  /** As the route does: replay when possible, else parse and compute (and remember). */
  function serve(ctx: InjectionContext, replay: ReplayCache, uid: string, pod = aPod(), namespace = "shop", apiVersion?: string) {
    const text = JSON.stringify(reviewFor(pod, { uid, namespace, ...(apiVersion && { apiVersion }) }));
    const metrics = createMetrics("t");
    const deps = { context: () => ctx, logger, now: () => 0, replay, metrics };
    const key = replayKey(text);
    const replayed = replayAdmission(key, deps);
    if (replayed) return { ...replayed, metrics };
    const review = parseAdmissionReview(JSON.parse(text));
    return { apiVersion: review.apiVersion, response: handleAdmission(review, deps, key), metrics };
  }

  it("answers an identical pod without parsing it, logging and counting it like any review", async () => {
    lines.length = 0;
    const ctx = testContext();
    const replay = new ReplayCache();
    const a = serve(ctx, replay, "u-1");
    const b = serve(ctx, replay, "u-2");
    expect(b.response).toEqual({ ...a.response, uid: "u-2" });
    expect(b.response.patch).toBeDefined();
    expect(lines.map((l) => [l.uid, l.namespace, l.pod, l.operation, l.decision, l.replayed])).toEqual([
      ["u-1", "shop", "web-0", "CREATE", "inject", undefined],
      ["u-2", "shop", "web-0", "CREATE", "inject", true],
    ]);
    const order = ["uid", "namespace", "pod", "operation", "dryRun", "decision", "reasons", "decidedBy", "patchOps"];
    expect(lines.map((l) => Object.keys(l))).toEqual([
      [...order, "durationMs"],
      [...order, "replayed", "durationMs"],
    ]);
    expect(await b.metrics.registry.getSingleMetricAsString("sidecar_injection_success_total")).toContain("sidecar_injection_success_total 1");
    expect(await b.metrics.registry.getSingleMetricAsString("sidecar_injection_replayed_total")).toContain("sidecar_injection_replayed_total 1");
    expect(await a.metrics.registry.getSingleMetricAsString("sidecar_injection_replayed_total")).toContain("sidecar_injection_replayed_total 0");
  });

  it("keeps the review's apiVersion (v1beta1 answered as v1beta1)", () => {
    const replay = new ReplayCache();
    const ctx = testContext();
    serve(ctx, replay, "u-1", aPod(), "shop", "admission.k8s.io/v1beta1");
    expect(serve(ctx, replay, "u-2", aPod(), "shop", "admission.k8s.io/v1beta1").apiVersion).toBe("admission.k8s.io/v1beta1");
    expect(serve(ctx, replay, "u-3").apiVersion).toBe("admission.k8s.io/v1");
  });

  it("computes again for another pod, changed namespace labels, or a reloaded configuration", () => {
    lines.length = 0;
    let labels: Record<string, string> = { "istio-injection": "enabled" };
    const ctx: InjectionContext = { ...testContext(), namespaceLabels: () => labels };
    const replay = new ReplayCache();
    serve(ctx, replay, "u-1");
    serve(ctx, replay, "u-2", aPod({ labels: { app: "other" } }));
    labels = { "istio-injection": "audit" };
    const reportOnly = serve(ctx, replay, "u-3");
    expect(reportOnly.response.patch).toBeUndefined();
    serve({ ...ctx }, replay, "u-4");
    expect(lines.map((l) => l.replayed ?? false)).toEqual([false, false, false, false]);
  });
});
