/**
 * Workload controllers for the in-process API server, as far as a rollout depends on them:
 *
 * - Deployment: a ReplicaSet per pod template (`<name>-<hash>`, pod-template-hash label); a rolling
 *   update with maxSurge 1 and maxUnavailable 0, so old pods keep serving until new ones are
 *   ready (one new pod at a time; an old one goes only when a new one is ready); status as the
 *   real controller writes it (observedGeneration, replicas, updated/ready/available, the
 *   Progressing condition, ProgressDeadlineExceeded once spec.progressDeadlineSeconds pass
 *   without progress);
 * - StatefulSet: pods `<name>-<ordinal>` with controller-revision-hash, replaced one at a time
 *   from the highest ordinal, each only once the others are ready (OnDelete: never);
 *   currentRevision becomes updateRevision when all are updated;
 * - DaemonSet: one pod per node (`nodes`, default 2), replaced one at a time (maxUnavailable 1).
 *
 * New pods pass through `admit` (the webhook's part: a test injects them with the configuration
 * of the moment) and become ready on the next step when `ready(pod)` says so (default: unless
 * the pod carries the label `test.fake/ready: never`). `step()` runs every controller once;
 * `start()` steps on a timer for tests of a CLI process. `maxInFlight` is the most workloads
 * seen mid-rollout at once, judged on every change with kubectl rollout status's rules.
 */
import { createHash } from "node:crypto";
import { type RestartableKind } from "../../src/audit/audit.js";
import { rolloutStatus } from "../../src/rollout/status.js";
import { type FakeApiServer, type Kind, Kinds } from "./fake-apiserver.js";

type Json = Record<string, unknown>;

export const NEVER_READY_LABEL = "test.fake/ready";

export interface ControllerOptions {
  readonly admit?: (pod: Json, namespace: string) => Json;
  readonly ready?: (pod: Json) => boolean;
  readonly nodes?: number;
  readonly now?: () => number;
}

export interface FakeControllers {
  /** Run every controller once; true when something changed. */
  step(): boolean;
  /** Step until nothing changes (at most `limit` steps). */
  settle(limit?: number): void;
  /** Step every `ms` until stop(). */
  start(ms?: number): void;
  stop(): void;
  /** The most workloads mid-rollout at once since the last `resetInFlight()`. */
  readonly maxInFlight: number;
  /** The workloads mid-rollout right now. */
  inFlight(): string[];
  resetInFlight(): void;
}

const meta = (o: Json): Json => (o.metadata as Json | undefined) ?? {};
const spec = (o: Json): Json => (o.spec as Json | undefined) ?? {};
const labels = (o: Json): Record<string, string> => (meta(o).labels as Record<string, string> | undefined) ?? {};
const hashOf = (v: unknown): string => createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 10);
const isReady = (pod: Json): boolean => (((pod.status as Json | undefined)?.conditions as Json[] | undefined) ?? []).some((c) => c.type === "Ready" && c.status === "True");
const ownedBy = (o: Json, kind: string, name: string): boolean => ((meta(o).ownerReferences as Json[] | undefined) ?? []).some((r) => r.kind === kind && r.name === name && r.controller === true);

export function startControllers(fake: FakeApiServer, opts: ControllerOptions = {}): FakeControllers {
  const admit = opts.admit ?? ((pod) => pod);
  const ready = opts.ready ?? ((pod) => labels(pod)[NEVER_READY_LABEL] !== "never");
  const now = opts.now ?? Date.now;
  const nodes = opts.nodes ?? 2;
  const lastProgress = new Map<string, { at: number; key: string }>();
  let counter = 0;
  let timer: NodeJS.Timeout | undefined;
  let maxInFlight = 0;

  const inFlight = (): string[] =>
    (["Deployment", "StatefulSet", "DaemonSet"] as const).flatMap((kind) =>
      fake.list(Kinds[kind]).flatMap((o) => (rolloutStatus(kind as RestartableKind, o).done ? [] : [`${kind}/${String(meta(o).namespace)}/${String(meta(o).name)}`])),
    );
  const unwatch = fake.onChange((_type, kind) => {
    if (kind === Kinds.Deployment || kind === Kinds.StatefulSet || kind === Kinds.DaemonSet) maxInFlight = Math.max(maxInFlight, inFlight().length);
  });

  const createPod = (namespace: string, name: string, template: Json, extraLabels: Record<string, string>, owner: Json, nodeName?: string): void => {
    const tm = (template.metadata as Json | undefined) ?? {};
    const pod: Json = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace,
        labels: { ...((tm.labels as Json | undefined) ?? {}), ...extraLabels },
        ...(tm.annotations !== undefined && { annotations: tm.annotations }),
        ownerReferences: [owner],
      },
      spec: { ...((template.spec as Json | undefined) ?? {}), ...(nodeName !== undefined && { nodeName }) },
      status: { phase: "Pending" },
    };
    fake.put(Kinds.Pod, admit(pod, namespace));
  };

  /** Pods not yet ready become Running, and ready when `ready` says so; true when any changed. */
  const advancePods = (pods: Json[]): boolean => {
    let changed = false;
    for (const pod of pods) {
      if (isReady(pod)) continue;
      const phase = (pod.status as Json | undefined)?.phase;
      const nowReady = ready(pod);
      if (phase === "Running" && !nowReady) continue;
      fake.put(Kinds.Pod, { ...pod, status: { phase: "Running", conditions: [{ type: "Ready", status: nowReady ? "True" : "False" }] } });
      changed = true;
    }
    return changed;
  };

  const writeStatus = (kind: Kind, o: Json, status: Json): boolean => {
    const current = fake.get(kind, String(meta(o).name), String(meta(o).namespace)) ?? o;
    if (JSON.stringify(current.status ?? {}) === JSON.stringify(status)) return false;
    fake.put(kind, { ...current, status });
    return true;
  };

  const stepDeployment = (d: Json): boolean => {
    const ns = String(meta(d).namespace);
    const name = String(meta(d).name);
    const replicas = Number(spec(d).replicas ?? 1);
    const template = (spec(d).template as Json | undefined) ?? {};
    const hash = hashOf(template);
    const rsName = `${name}-${hash}`;
    let changed = false;
    if (fake.get(Kinds.ReplicaSet, rsName, ns) === undefined) {
      const tm = (template.metadata as Json | undefined) ?? {};
      fake.put(Kinds.ReplicaSet, {
        metadata: {
          name: rsName,
          namespace: ns,
          labels: { ...((tm.labels as Json | undefined) ?? {}), "pod-template-hash": hash },
          ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name, uid: meta(d).uid, controller: true }],
        },
        spec: { replicas, selector: spec(d).selector, template },
      });
      changed = true;
    }
    const sets = new Set(fake.list(Kinds.ReplicaSet, ns).filter((rs) => ownedBy(rs, "Deployment", name)).map((rs) => String(meta(rs).name)));
    const pods = () => fake.list(Kinds.Pod, ns).filter((p) => ((meta(p).ownerReferences as Json[] | undefined) ?? []).some((r) => r.kind === "ReplicaSet" && sets.has(String(r.name))));
    const isNew = (p: Json) => ownedBy(p, "ReplicaSet", rsName);
    changed = advancePods(pods().filter(isNew)) || changed;
    if (spec(d).paused !== true) {
      let all = pods();
      let fresh = all.filter(isNew);
      let old = all.filter((p) => !isNew(p));
      const owner = { apiVersion: "apps/v1", kind: "ReplicaSet", name: rsName, uid: meta(fake.get(Kinds.ReplicaSet, rsName, ns) ?? {}).uid, controller: true };
      const extra = { "pod-template-hash": hash };
      if (old.length === 0) {
        for (let i = fresh.length; i < replicas; i++, changed = true) createPod(ns, `${rsName}-${(counter++).toString(36).padStart(5, "0")}`, template, extra, owner);
      } else if (fresh.length < replicas && all.length < replicas + 1) {
        createPod(ns, `${rsName}-${(counter++).toString(36).padStart(5, "0")}`, template, extra, owner);
        changed = true;
      }
      all = pods();
      fresh = all.filter(isNew);
      old = all.filter((p) => !isNew(p));
      const readyCount = all.filter(isReady).length;
      if (old.length > 0 && (readyCount > replicas || (fresh.length >= replicas && fresh.every(isReady)))) {
        const victim = old.find((p) => !isReady(p)) ?? old[0];
        if (victim) {
          fake.remove(Kinds.Pod, String(meta(victim).name), ns);
          changed = true;
        }
      }
    }
    const all = pods();
    const fresh = all.filter(isNew);
    const readyCount = all.filter(isReady).length;
    const counts = { replicas: all.length, updatedReplicas: fresh.length, readyReplicas: readyCount, availableReplicas: readyCount };
    const complete = fresh.length === replicas && all.length === replicas && fresh.every(isReady);
    const key = `${d.metadata && (meta(d).uid as string)}`;
    const progressKey = JSON.stringify([hash, counts]);
    const last = lastProgress.get(key);
    if (last === undefined || last.key !== progressKey) lastProgress.set(key, { at: now(), key: progressKey });
    const deadline = Number(spec(d).progressDeadlineSeconds ?? 600) * 1000;
    const stuck = !complete && now() - (lastProgress.get(key)?.at ?? now()) > deadline;
    const progressing = stuck
      ? { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: `ReplicaSet "${rsName}" has timed out progressing.` }
      : complete
        ? { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: `ReplicaSet "${rsName}" has successfully progressed.` }
        : { type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: `ReplicaSet "${rsName}" is progressing.` };
    const status = { observedGeneration: meta(d).generation, ...counts, ...(readyCount < replicas && { unavailableReplicas: replicas - readyCount }), conditions: [progressing] };
    return writeStatus(Kinds.Deployment, d, status) || changed;
  };

  const stepStatefulSet = (s: Json): boolean => {
    const ns = String(meta(s).namespace);
    const name = String(meta(s).name);
    const replicas = Number(spec(s).replicas ?? 1);
    const template = (spec(s).template as Json | undefined) ?? {};
    const revision = `${name}-${hashOf(template)}`;
    const onDelete = ((spec(s).updateStrategy as Json | undefined)?.type ?? "RollingUpdate") === "OnDelete";
    const owner = { apiVersion: "apps/v1", kind: "StatefulSet", name, uid: meta(s).uid, controller: true };
    const pods = () => fake.list(Kinds.Pod, ns).filter((p) => ownedBy(p, "StatefulSet", name));
    const revisionOf = (p: Json) => labels(p)["controller-revision-hash"];
    let changed = advancePods(pods());
    const current = pods();
    if (current.every(isReady)) {
      const missing = Array.from({ length: replicas }, (_, i) => i).find((i) => !current.some((p) => meta(p).name === `${name}-${i}`));
      if (missing !== undefined) {
        createPod(ns, `${name}-${missing}`, template, { "controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": `${name}-${missing}` }, owner);
        changed = true;
      } else if (!onDelete) {
        const outdated = current.filter((p) => revisionOf(p) !== revision).sort((a, b) => String(meta(b).name).localeCompare(String(meta(a).name), undefined, { numeric: true }));
        if (outdated[0]) {
          fake.remove(Kinds.Pod, String(meta(outdated[0]).name), ns);
          changed = true;
        }
      }
    }
    const all = pods();
    const updated = all.filter((p) => revisionOf(p) === revision).length;
    const previous = (s.status as Json | undefined)?.currentRevision;
    const currentRevision = updated === replicas && all.length === replicas ? revision : (previous ?? revision);
    const status = {
      observedGeneration: meta(s).generation,
      replicas: all.length,
      readyReplicas: all.filter(isReady).length,
      availableReplicas: all.filter(isReady).length,
      currentReplicas: all.filter((p) => revisionOf(p) === currentRevision).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision: revision,
    };
    return writeStatus(Kinds.StatefulSet, s, status) || changed;
  };

  const stepDaemonSet = (ds: Json): boolean => {
    const ns = String(meta(ds).namespace);
    const name = String(meta(ds).name);
    const template = (spec(ds).template as Json | undefined) ?? {};
    const revision = hashOf(template);
    const owner = { apiVersion: "apps/v1", kind: "DaemonSet", name, uid: meta(ds).uid, controller: true };
    const pods = () => fake.list(Kinds.Pod, ns).filter((p) => ownedBy(p, "DaemonSet", name));
    let changed = advancePods(pods());
    for (let n = 0; n < nodes; n++) {
      const node = `node-${n}`;
      if (!pods().some((p) => spec(p).nodeName === node)) {
        createPod(ns, `${name}-${revision.slice(0, 5)}-${n}`, template, { "controller-revision-hash": revision }, owner, node);
        changed = true;
      }
    }
    const current = pods();
    if (current.every(isReady) && ((spec(ds).updateStrategy as Json | undefined)?.type ?? "RollingUpdate") === "RollingUpdate") {
      const outdated = current.find((p) => labels(p)["controller-revision-hash"] !== revision);
      if (outdated) {
        fake.remove(Kinds.Pod, String(meta(outdated).name), ns);
        changed = true;
      }
    }
    const all = pods();
    const readyCount = all.filter(isReady).length;
    const status = {
      observedGeneration: meta(ds).generation,
      desiredNumberScheduled: nodes,
      currentNumberScheduled: all.length,
      updatedNumberScheduled: all.filter((p) => labels(p)["controller-revision-hash"] === revision).length,
      numberReady: readyCount,
      numberAvailable: all.filter((p) => isReady(p) && labels(p)["controller-revision-hash"] === revision).length,
      ...(readyCount < nodes && { numberUnavailable: nodes - readyCount }),
    };
    return writeStatus(Kinds.DaemonSet, ds, status) || changed;
  };

  const step = (): boolean => {
    let changed = false;
    for (const d of fake.list(Kinds.Deployment)) changed = stepDeployment(d) || changed;
    for (const s of fake.list(Kinds.StatefulSet)) changed = stepStatefulSet(s) || changed;
    for (const ds of fake.list(Kinds.DaemonSet)) changed = stepDaemonSet(ds) || changed;
    return changed;
  };

  return {
    step,
    settle(limit = 200) {
      for (let i = 0; i < limit && step(); i++);
    },
    start(ms = 25) {
      if (timer === undefined) timer = setInterval(step, ms);
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      unwatch();
    },
    get maxInFlight() {
      return maxInFlight;
    },
    inFlight,
    resetInFlight() {
      maxInFlight = inFlight().length;
    },
  };
}
