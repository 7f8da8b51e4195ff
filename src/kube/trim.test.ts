import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { testContext } from "../../test/support/builders.js";
import { auditCluster, flattenObjects } from "../audit/audit.js";
import { explainCluster } from "../explain/cluster.js";
import { LAST_APPLIED_ANNOTATION, trimForReports } from "./trim.js";

type Json = Record<string, unknown>;
const ROOT = join(import.meta.dirname, "..", "..");
const context = testContext(undefined, true);

function fixture(name: string): Json[] {
  const text = readFileSync(join(ROOT, "test", "audit", "testdata", `${name}.json`), "utf8");
  return flattenObjects([JSON.parse(text.replaceAll("$CURRENT_TEMPLATE_HASH", context.template.hash))]);
}
const trimmed = (objects: readonly Json[]) => objects.map((o) => trimForReports(String(o.kind), structuredClone(o)));

/** A pod as a Deployment's ReplicaSet makes it, with what a cluster adds: managedFields, status, env, probes. */
function realisticPod(controller: boolean): Json {
  const container = (name: string) => ({
    name,
    image: `registry.example/${name}:1.4.2`,
    env: Array.from({ length: 12 }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}-${"x".repeat(20)}` })),
    ports: [{ containerPort: 8080, protocol: "TCP" }],
    readinessProbe: { httpGet: { path: "/ready", port: 8080 }, periodSeconds: 5 },
    resources: { requests: { cpu: "100m", memory: "128Mi" } },
    volumeMounts: [{ name: "config", mountPath: "/etc/app" }],
    securityContext: { runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
  });
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "reviews-7d9c-x2",
      namespace: "shop",
      labels: { app: "reviews", "pod-template-hash": "7d9c" },
      annotations: { "team.example/owner": "reviews", [LAST_APPLIED_ANNOTATION]: JSON.stringify({ big: "x".repeat(2000) }) },
      ...(controller && { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "reviews-7d9c", uid: "u1", controller: true }] }),
      managedFields: Array.from({ length: 3 }, (_, i) => ({ manager: `m${i}`, operation: "Update", fieldsV1: { "f:spec": { "f:containers": { x: "y".repeat(300) } } } })),
    },
    spec: {
      containers: [container("reviews"), container("cache")],
      volumes: [{ name: "config", configMap: { name: "reviews-config" } }],
      serviceAccountName: "reviews",
    },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }], containerStatuses: [{ name: "reviews", ready: true }] },
  };
}

describe("trimForReports", () => {
  it.each(["findings", "clean"])("the audit of %s.json is the same, trimmed or whole", (name) => {
    const objects = fixture(name);
    const servedCa = undefined;
    expect(auditCluster(trimmed(objects), { template: context.template, servedCa })).toEqual(auditCluster(objects, { template: context.template, servedCa }));
  });

  it.each(["findings", "clean"])("explain -A over %s.json is the same, trimmed or whole", (name) => {
    const objects = fixture(name);
    const opts = { context, webhookConfigsListed: true };
    expect(explainCluster(trimmed(objects), { namespace: null }, opts)).toEqual(explainCluster(objects, { namespace: null }, opts));
  });

  it("keeps of a controller's pod only what the reports read, a fraction of its JSON", () => {
    const pod = realisticPod(true);
    const out = trimForReports("Pod", pod);
    expect(out).toEqual({
      kind: "Pod",
      metadata: {
        name: "reviews-7d9c-x2",
        namespace: "shop",
        labels: { app: "reviews", "pod-template-hash": "7d9c" },
        annotations: { "team.example/owner": "reviews" },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "reviews-7d9c", uid: "u1", controller: true }],
      },
      spec: { containers: [{ name: "reviews", image: "registry.example/reviews:1.4.2" }, { name: "cache", image: "registry.example/cache:1.4.2" }], volumes: [{ name: "config" }] },
      status: { phase: "Running" },
    });
    expect(JSON.stringify(out).length * 8).toBeLessThan(JSON.stringify(pod).length);
  });

  it("keeps a bare pod's spec whole (explain judges it by its own spec), without managedFields, last-applied or status", () => {
    const pod = realisticPod(false);
    const out = trimForReports("Pod", pod);
    expect(out.spec).toEqual(pod.spec);
    expect(out.status).toEqual({ phase: "Running" });
    expect((out.metadata as Json).managedFields).toBeUndefined();
    expect((out.metadata as { annotations: Json }).annotations[LAST_APPLIED_ANNOTATION]).toBeUndefined();
  });

  it("keeps what decides: hostNetwork, init containers with added capabilities and their restartPolicy", () => {
    const pod = realisticPod(true);
    (pod.spec as Json).hostNetwork = true;
    (pod.spec as Json).initContainers = [{ name: "istio-init", image: "proxy", securityContext: { runAsUser: 0, capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] } } }, { name: "istio-proxy", image: "proxy", restartPolicy: "Always" }];
    const spec = trimForReports("Pod", pod).spec as Json;
    expect(spec.hostNetwork).toBe(true);
    expect(spec.initContainers).toEqual([
      { name: "istio-init", image: "proxy", securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"] } } },
      { name: "istio-proxy", image: "proxy", restartPolicy: "Always" },
    ]);
  });

  it("keeps a workload's pod template and, of its status, what rollout status reads; drops managedFields; leaves its input alone", () => {
    const deployment = {
      metadata: { name: "reviews", namespace: "shop", generation: 4, managedFields: [{ manager: "kubectl" }], annotations: { [LAST_APPLIED_ANNOTATION]: "{}" } },
      spec: { replicas: 3, paused: true, template: { metadata: { labels: { app: "reviews" } }, spec: { containers: [{ name: "reviews", env: [{ name: "A", value: "1" }] }] } } },
      status: {
        observedGeneration: 4,
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
        collisionCount: 1,
        conditions: [
          { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "ok", lastUpdateTime: "2026-01-01T00:00:00Z" },
          { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: "done", lastUpdateTime: "2026-01-01T00:00:00Z" },
        ],
      },
    };
    const before = structuredClone(deployment);
    expect(trimForReports("Deployment", deployment)).toEqual({
      kind: "Deployment",
      metadata: { name: "reviews", namespace: "shop", generation: 4, annotations: {} },
      spec: deployment.spec,
      status: {
        observedGeneration: 4,
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
        conditions: [{ type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: "done" }],
      },
    });
    expect(deployment).toEqual(before);
    const sts = { metadata: { name: "db", namespace: "shop" }, spec: {}, status: { observedGeneration: 2, replicas: 3, currentRevision: "db-1", updateRevision: "db-2", collisionCount: 0 } };
    expect(trimForReports("StatefulSet", sts).status).toEqual({ observedGeneration: 2, replicas: 3, currentRevision: "db-1", updateRevision: "db-2" });
    expect(trimForReports("Job", { metadata: { name: "j" }, spec: {}, status: { succeeded: 1 } }).status).toBeUndefined();
  });

  it("keeps a webhook configuration and a namespace whole but for managedFields", () => {
    const mwc = { metadata: { name: "istio-sidecar-injector", managedFields: [{}], resourceVersion: "9" }, webhooks: [{ name: "a", clientConfig: { caBundle: "Zm9v" } }] };
    expect(trimForReports("MutatingWebhookConfiguration", mwc)).toEqual({ kind: "MutatingWebhookConfiguration", metadata: { name: "istio-sidecar-injector", resourceVersion: "9" }, webhooks: mwc.webhooks });
    const ns = { metadata: { name: "shop", labels: { "istio-injection": "enabled" }, managedFields: [{}] }, status: { phase: "Active" } };
    expect(trimForReports("Namespace", ns)).toEqual({ kind: "Namespace", metadata: { name: "shop", labels: { "istio-injection": "enabled" } } });
  });
});
