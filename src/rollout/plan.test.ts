import { describe, expect, it } from "@jest/globals";
import fjp from "fast-json-patch";
import { testContext } from "../../test/support/builders.js";
import { NotFoundError } from "../errors.js";
import { runInjection } from "../injection/pipeline.js";
import { type RolloutFacts, type RolloutFor, ROLLOUT_FOR_ALL, planRollout, verifyRestartedPods } from "./plan.js";

type Json = Record<string, unknown>;
const ctx = testContext();
const t = ctx.template;

const ns = (name: string, enabled = true): Json => ({ kind: "Namespace", metadata: { name, labels: enabled ? { "istio-injection": "enabled" } : {} } });
const template = (app: string, labels: Json = {}) => ({ metadata: { labels: { app, ...labels } }, spec: { containers: [{ name: app, image: `img/${app}` }] } });
const doneDeployment = { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };

function deployment(namespace: string, name: string, extra: { spec?: Json; status?: Json; labels?: Json } = {}): Json {
  return { kind: "Deployment", metadata: { name, namespace, generation: 1 }, spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: template(name, extra.labels), ...extra.spec }, status: extra.status ?? doneDeployment };
}
function statefulSet(namespace: string, name: string, spec: Json = {}): Json {
  return { kind: "StatefulSet", metadata: { name, namespace, generation: 1 }, spec: { replicas: 1, template: template(name), ...spec }, status: { observedGeneration: 1, replicas: 1, readyReplicas: 1, currentRevision: "r1", updateRevision: "r1" } };
}
function pod(namespace: string, name: string, owner: { kind: string; name: string } | null, opts: { inject?: boolean; labels?: Json } = {}): Json {
  const p: Json = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { app: name.split("-")[0], ...opts.labels }, ...(owner && { ownerReferences: [{ apiVersion: "apps/v1", kind: owner.kind, name: owner.name, controller: true }] }) },
    spec: { containers: [{ name: "app", image: "img/app" }] },
    status: { phase: "Running" },
  };
  if (!opts.inject) return p;
  const r = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "shop", object: p }, testContext(undefined));
  return fjp.applyPatch(structuredClone(p), structuredClone(r.patch) as fjp.Operation[], true, false).newDocument as Json;
}
const rs = (namespace: string, name: string, deploymentName?: string): Json => ({
  kind: "ReplicaSet",
  metadata: { name, namespace, ...(deploymentName && { ownerReferences: [{ kind: "Deployment", name: deploymentName, controller: true }] }) },
});

/** shop (enabled): web (missing), db (missing); other (enabled): api (missing). */
function cluster(extra: Json[] = []): RolloutFacts {
  return {
    objects: [
      ns("shop"),
      ns("other"),
      deployment("shop", "web"),
      rs("shop", "web-1", "web"),
      pod("shop", "web-1-a", { kind: "ReplicaSet", name: "web-1" }),
      statefulSet("shop", "db"),
      pod("shop", "db-0", { kind: "StatefulSet", name: "db" }),
      deployment("other", "api"),
      rs("other", "api-1", "api"),
      pod("other", "api-1-a", { kind: "ReplicaSet", name: "api-1" }),
      ...extra,
    ],
    disruptionBudgets: [],
  };
}
const plan = (facts: RolloutFacts, opts: { namespace?: string | null; target?: { kind: "Deployment" | "StatefulSet" | "DaemonSet"; name: string }; for?: RolloutFor[] } = {}) =>
  planRollout(facts, { template: t, namespace: opts.namespace ?? null, target: opts.target, for: opts.for ?? [...ROLLOUT_FOR_ALL] });

describe("planRollout", () => {
  it("orders restarts by namespace, then Deployments, StatefulSets, DaemonSets; says why and what changes", () => {
    const p = plan(cluster());
    expect(p.restarts.map((r) => r.object)).toEqual(["Deployment/other/api", "Deployment/shop/web", "StatefulSet/shop/db"]);
    expect(p.restarts[1]).toMatchObject({
      findings: { missing_sidecar: 1 },
      why: "1 pod missing the sidecar",
      from: ["no sidecar"],
      to: `template ${t.hash}, image ${t.config.sidecar.image}`,
      command: "kubectl rollout restart deployment/web -n shop",
      undo: "kubectl rollout undo deployment/web -n shop",
    });
    expect(p.untouched).toEqual([]);
  });

  it("--for leaves out the findings not asked for", () => {
    expect(plan(cluster(), { for: ["stale", "unexpected"] }).restarts).toEqual([]);
  });

  it("KIND/NAME: only that workload; one that is not there is NotFoundError", () => {
    const p = plan(cluster([pod("shop", "debug", null)]), { namespace: "shop", target: { kind: "Deployment", name: "web" } });
    expect(p.restarts.map((r) => r.object)).toEqual(["Deployment/shop/web"]);
    expect(p.untouched).toEqual([]);
    expect(() => plan(cluster(), { namespace: "shop", target: { kind: "Deployment", name: "nope" } })).toThrow(NotFoundError);
  });

  it("an unexpected sidecar (namespace not enabled): restarted to no sidecar", () => {
    const facts = { objects: [ns("quiet", false), deployment("quiet", "web"), rs("quiet", "web-1", "web"), pod("quiet", "web-1-a", { kind: "ReplicaSet", name: "web-1" }, { inject: true })], disruptionBudgets: [] };
    const p = plan(facts);
    expect(p.restarts).toHaveLength(1);
    expect(p.restarts[0]).toMatchObject({ findings: { unexpected_sidecar: 1 }, to: "no sidecar", from: [`template ${t.hash}, image ${t.config.sidecar.image}`] });
  });

  it.each([
    ["a paused Deployment", deployment("team", "web", { spec: { paused: true } }), "paused"],
    ["a Deployment mid-rollout", deployment("team", "web", { status: { ...doneDeployment, updatedReplicas: 0 } }), "in_rollout"],
    ["a Deployment whose pod template opts out", deployment("team", "web", { labels: { "sidecar.istio.io/inject": "false" } }), "opted_out"],
    ["an OnDelete StatefulSet", statefulSet("team", "web", { updateStrategy: { type: "OnDelete" } }), "on_delete_strategy"],
    ["a partitioned StatefulSet", statefulSet("team", "web", { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } } }), "partitioned"],
  ])("leaves alone %s", (_name, workload, reason) => {
    const owner = workload.kind === "Deployment" ? { kind: "ReplicaSet", name: "web-1" } : { kind: "StatefulSet", name: "web" };
    const facts = { objects: [ns("team"), workload, rs("team", "web-1", "web"), pod("team", "web-1-a", owner)], disruptionBudgets: [] };
    const p = plan(facts);
    expect(p.restarts).toEqual([]);
    expect(p.untouched.map((u) => [u.object, u.reason])).toEqual([[`${String(workload.kind)}/team/web`, reason]]);
  });

  it("a PodDisruptionBudget without room blocks (an empty selector selects every pod); one with room does not", () => {
    const budget = (allowed: number, selector?: Json): Json => ({ metadata: { name: "pdb", namespace: "shop" }, spec: { ...(selector && { selector }) }, status: { disruptionsAllowed: allowed, currentHealthy: 1, desiredHealthy: 1 } });
    expect(plan({ ...cluster(), disruptionBudgets: [budget(0)] }).untouched.map((u) => [u.object, u.reason])).toEqual([
      ["Deployment/shop/web", "disruption_budget"],
      ["StatefulSet/shop/db", "disruption_budget"],
    ]);
    expect(plan({ ...cluster(), disruptionBudgets: [budget(0, { matchLabels: { app: "db" } })] }).untouched.map((u) => u.object)).toEqual(["StatefulSet/shop/db"]);
    expect(plan({ ...cluster(), disruptionBudgets: [budget(1)] }).untouched).toEqual([]);
  });

  it("bare pods (with the command to run by hand), Job pods and a ReplicaSet of no Deployment are not restarted", () => {
    const p = plan(cluster([pod("shop", "debug", null), pod("shop", "nightly-x", { kind: "Job", name: "nightly" }), rs("shop", "lonely-1"), pod("shop", "lonely-1-a", { kind: "ReplicaSet", name: "lonely-1" })]));
    expect(p.untouched.map((u) => [u.object, u.reason, u.pods])).toEqual([
      ["Job/shop/nightly", "not_restartable", 1],
      ["Pod/shop/debug", "bare_pod", 1],
      ["ReplicaSet/shop/lonely-1", "not_restartable", 1],
    ]);
    expect(p.untouched.find((u) => u.reason === "bare_pod")?.command).toMatch(/^kubectl delete pod debug -n shop/);
  });
});

describe("verifyRestartedPods", () => {
  it("passes pods that carry the current sidecar, names those that do not", () => {
    expect(verifyRestartedPods([pod("shop", "web-1-a", { kind: "ReplicaSet", name: "web-1" }, { inject: true })], ns("shop"), t)).toEqual([]);
    const problems = verifyRestartedPods([pod("shop", "web-1-b", { kind: "ReplicaSet", name: "web-1" })], ns("shop"), t);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Pod\/shop\/web-1-b: The pod should carry the sidecar/);
  });
});
