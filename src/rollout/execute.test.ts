import { describe, expect, it } from "@jest/globals";
import fjp from "fast-json-patch";
import { testContext } from "../../test/support/builders.js";
import { KubeApiError } from "../errors.js";
import { runInjection } from "../injection/pipeline.js";
import { type RolloutCluster, type RolloutEvent, executeRollout, restartedAtOf } from "./execute.js";
import { type PlannedRestart, RESTARTED_AT_ANNOTATION } from "./plan.js";

type Json = Record<string, unknown>;
const ctx = testContext();

const planned = (name: string): PlannedRestart => ({
  object: `Deployment/shop/${name}`,
  kind: "Deployment",
  namespace: "shop",
  name,
  findings: { missing_sidecar: 1 },
  why: "1 pod missing the sidecar",
  from: ["no sidecar"],
  to: "current",
  command: `kubectl rollout restart deployment/${name} -n shop`,
  undo: `kubectl rollout undo deployment/${name} -n shop`,
});

/** How a scripted workload behaves after its restart. */
interface Script {
  /** Reads until it is complete (Infinity: never). */
  readonly readsToDone?: number;
  /** Its Progressing condition says ProgressDeadlineExceeded. */
  readonly deadline?: boolean;
  /** Its new pods come without the sidecar (the webhook was not called). */
  readonly uninjected?: boolean;
  /** The patch is refused. */
  readonly forbidden?: boolean;
}

function newPod(name: string, restartedAt: string, inject: boolean): Json {
  const pod: Json = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${name}-new`, namespace: "shop", labels: { app: name }, annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt }, ownerReferences: [{ kind: "ReplicaSet", name: `${name}-2`, controller: true }] },
    spec: { containers: [{ name, image: "img" }] },
    status: { phase: "Running" },
  };
  if (!inject) return pod;
  const r = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "shop", object: pod }, ctx);
  return fjp.applyPatch(structuredClone(pod), structuredClone(r.patch) as fjp.Operation[], true, false).newDocument as Json;
}

/** A cluster of scripted workloads on a virtual clock; counts the workloads between restart and end. */
function scripted(scripts: Record<string, Script>) {
  let clock = 1_800_000_000_000;
  const reads = new Map<string, number>();
  const restartedAt = new Map<string, string>();
  const restarted: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const cluster: RolloutCluster = {
    async restart(r, at) {
      if (scripts[r.name]?.forbidden) throw new KubeApiError(`patch deployments.apps shop/${r.name} failed (HTTP 403): forbidden`, 403);
      restarted.push(r.name);
      restartedAt.set(r.name, at);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
    },
    async read(r) {
      const s = scripts[r.name] ?? {};
      const n = (reads.get(r.name) ?? 0) + 1;
      reads.set(r.name, n);
      const done = n >= (s.readsToDone ?? 2);
      const status = done
        ? { observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 }
        : { observedGeneration: 2, replicas: 2, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, ...(s.deadline && { conditions: [{ type: "Progressing", reason: "ProgressDeadlineExceeded", message: "timed out progressing" }] }) };
      if (done || s.deadline) inFlight--;
      return { metadata: { name: r.name, namespace: "shop", generation: 2 }, spec: { replicas: 1, selector: { matchLabels: { app: r.name } } }, status };
    },
    async pods(r) {
      return [newPod(r.name, restartedAt.get(r.name) ?? "", !scripts[r.name]?.uninjected), newPod("someone-else", "x", false)];
    },
    namespace: () => ({ kind: "Namespace", metadata: { name: "shop", labels: { "istio-injection": "enabled" } } }),
  };
  return {
    cluster,
    restarted,
    get maxInFlight() {
      return maxInFlight;
    },
    now: () => clock,
    sleep: async (ms: number) => {
      clock += ms;
      await Promise.resolve();
    },
  };
}

const run = (names: string[], scripts: Record<string, Script>, maxInFlight = 1, timeoutMs = 60_000) => {
  const c = scripted(scripts);
  const events: RolloutEvent[] = [];
  const result = executeRollout(names.map(planned), c.cluster, { template: ctx.template, maxInFlight, timeoutMs, now: c.now, sleep: c.sleep, onEvent: (e) => events.push(e) });
  return { c, events, result };
};

describe("executeRollout", () => {
  it("restarts every workload in order, at most maxInFlight at a time, and checks the new pods", async () => {
    const { c, result } = run(["a", "b", "c", "d", "e"], { a: { readsToDone: 5 }, b: { readsToDone: 3 }, c: { readsToDone: 4 } }, 2);
    const r = await result;
    expect(r.stopped).toBe(false);
    expect(r.results.map((x) => [x.object, x.outcome])).toEqual(["a", "b", "c", "d", "e"].map((n) => [`Deployment/shop/${n}`, "done"]));
    expect(c.maxInFlight).toBe(2);
    expect(r.results[0]?.message).toBe('deployment "a" successfully rolled out');
  });

  it("stops at the first failure: nothing more starts, the one in flight is followed to its end", async () => {
    const { c, result } = run(["a", "b", "c", "d"], { a: { deadline: true }, b: { readsToDone: 6 } }, 2);
    const r = await result;
    expect(r.stopped).toBe(true);
    expect(r.results.map((x) => x.outcome)).toEqual(["failed", "done", "not_started", "not_started"]);
    expect(c.restarted).toEqual(["a", "b"]);
    expect(r.results[0]).toMatchObject({ message: 'deployment "a" exceeded its progress deadline: timed out progressing', undo: "kubectl rollout undo deployment/a -n shop" });
  });

  it("a rollout that does not complete within the timeout fails", async () => {
    const r = await run(["a", "b"], { a: { readsToDone: Infinity } }, 1, 5_000).result;
    expect(r.results.map((x) => x.outcome)).toEqual(["failed", "not_started"]);
    expect(r.results[0]?.message).toMatch(/^timed out after 5 s: Waiting for deployment "a" rollout to finish: 1 old replicas are pending termination$/);
  });

  it("new pods without the current sidecar fail the restart, naming the pods", async () => {
    const r = await run(["a"], { a: { uninjected: true } }).result;
    expect(r.results[0]).toMatchObject({ outcome: "failed", message: "rolled out, but 1 of its 1 new pods do not carry the current sidecar" });
    expect(r.results[0]?.problems?.[0]).toMatch(/^Pod\/shop\/a-new: /);
  });

  it("a refused patch is an error that stops the run", async () => {
    const { c, result } = run(["a", "b"], { a: { forbidden: true } });
    const r = await result;
    expect(r.results.map((x) => x.outcome)).toEqual(["error", "not_started"]);
    expect(r.results[0]?.message).toContain("patch deployments.apps shop/a failed (HTTP 403)");
    expect(c.restarted).toEqual([]);
  });

  it("reports started, progress and finished events; restartedAt is RFC 3339 to the second", async () => {
    const { events, result } = run(["a"], {});
    await result;
    expect(events.map((e) => e.type)).toEqual(["started", "progress", "progress", "finished"]);
    expect(restartedAtOf(Date.UTC(2026, 11, 6, 18, 30, 5, 123))).toBe("2026-12-06T18:30:05Z");
  });
});
