/**
 * Whether a workload's rollout is complete, by the rules `kubectl rollout status` applies
 * (kubectl's polymorphichelpers/rollout_status.go), on the workload's JSON as the API server
 * sends it: the controller has observed the latest generation; a Deployment has all its replicas
 * updated, no old ones left and the updated ones available, and fails on ProgressDeadlineExceeded;
 * a StatefulSet has every replica ready and `currentRevision == updateRevision`; a DaemonSet has
 * every scheduled pod updated and available. Pure.
 */
import type { RestartableKind } from "../audit/audit.js";
import { isObject } from "../json-values.js";

type Json = Record<string, unknown>;

export interface RolloutStatus {
  /** The rollout is complete. */
  readonly done: boolean;
  /** The rollout cannot complete by waiting (a progress deadline passed, an unsupported strategy). */
  readonly failed: boolean;
  /** kubectl's sentence for the state. */
  readonly message: string;
  /** Updated pods ready (available) and the pods wanted, for progress lines. */
  readonly ready: number;
  readonly desired: number;
}

const num = (v: unknown, fallback = 0): number => (typeof v === "number" && Number.isFinite(v) ? v : fallback);

function parts(o: Json): { generation: number; spec: Json; status: Json; name: string } {
  const meta = isObject(o.metadata) ? o.metadata : {};
  return {
    generation: num(meta.generation),
    spec: isObject(o.spec) ? o.spec : {},
    status: isObject(o.status) ? o.status : {},
    name: typeof meta.name === "string" ? meta.name : "<unnamed>",
  };
}

/** The update strategy's type (RollingUpdate when unset, as the API server defaults it). */
export function updateStrategyOf(o: Json): string {
  const spec = isObject(o.spec) ? o.spec : {};
  const strategy = isObject(spec.updateStrategy) ? spec.updateStrategy : {};
  return typeof strategy.type === "string" ? strategy.type : "RollingUpdate";
}

/** A StatefulSet's rolling-update partition (0 when unset). */
export function partitionOf(o: Json): number {
  const spec = isObject(o.spec) ? o.spec : {};
  const strategy = isObject(spec.updateStrategy) ? spec.updateStrategy : {};
  const rolling = isObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  return num(rolling.partition);
}

const pending = (message: string, ready: number, desired: number): RolloutStatus => ({ done: false, failed: false, message, ready, desired });

export function rolloutStatus(kind: RestartableKind, o: Json): RolloutStatus {
  const { generation, spec, status, name } = parts(o);
  if (kind === "Deployment") {
    const desired = num(spec.replicas, 1);
    const updated = num(status.updatedReplicas);
    const available = num(status.availableReplicas);
    const ready = Math.min(updated, available);
    if (generation > num(status.observedGeneration)) return pending("Waiting for deployment spec update to be observed...", ready, desired);
    const progressing = Array.isArray(status.conditions) ? status.conditions.filter(isObject).find((c) => c.type === "Progressing") : undefined;
    if (progressing?.reason === "ProgressDeadlineExceeded") {
      const detail = typeof progressing.message === "string" && progressing.message !== "" ? `: ${progressing.message}` : "";
      return { done: false, failed: true, message: `deployment "${name}" exceeded its progress deadline${detail}`, ready, desired };
    }
    if (updated < desired) return pending(`Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...`, ready, desired);
    const replicas = num(status.replicas);
    if (replicas > updated) return pending(`Waiting for deployment "${name}" rollout to finish: ${replicas - updated} old replicas are pending termination...`, ready, desired);
    if (available < updated) return pending(`Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`, ready, desired);
    return { done: true, failed: false, message: `deployment "${name}" successfully rolled out`, ready, desired };
  }
  if (kind === "StatefulSet") {
    const desired = num(spec.replicas, 1);
    const readyReplicas = num(status.readyReplicas);
    if (updateStrategyOf(o) !== "RollingUpdate") return { done: false, failed: true, message: "rollout status is only available for RollingUpdate strategy type", ready: readyReplicas, desired };
    const observed = num(status.observedGeneration);
    if (observed === 0 || generation > observed) return pending("Waiting for statefulset spec update to be observed...", readyReplicas, desired);
    if (readyReplicas < desired) return pending(`Waiting for ${desired - readyReplicas} pods to be ready...`, readyReplicas, desired);
    const partition = partitionOf(o);
    if (partition > 0) {
      const updated = num(status.updatedReplicas);
      if (updated < desired - partition) return pending(`Waiting for partitioned roll out to finish: ${updated} out of ${desired - partition} new pods have been updated...`, readyReplicas, desired);
      return { done: true, failed: false, message: `partitioned roll out complete: ${updated} new pods have been updated...`, ready: readyReplicas, desired };
    }
    const update = typeof status.updateRevision === "string" ? status.updateRevision : "";
    if (update !== status.currentRevision) return pending(`waiting for statefulset rolling update to complete ${num(status.updatedReplicas)} pods at revision ${update}...`, num(status.updatedReplicas), desired);
    return { done: true, failed: false, message: `statefulset rolling update complete ${num(status.currentReplicas)} pods at revision ${update}...`, ready: readyReplicas, desired };
  }
  const desired = num(status.desiredNumberScheduled);
  const updated = num(status.updatedNumberScheduled);
  const available = num(status.numberAvailable);
  if (updateStrategyOf(o) !== "RollingUpdate") return { done: false, failed: true, message: "rollout status is only available for RollingUpdate strategy type", ready: available, desired };
  if (generation > num(status.observedGeneration)) return pending("Waiting for daemon set spec update to be observed...", Math.min(updated, available), desired);
  if (updated < desired) return pending(`Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...`, Math.min(updated, available), desired);
  if (available < desired) return pending(`Waiting for daemon set "${name}" rollout to finish: ${available} of ${desired} updated pods are available...`, available, desired);
  return { done: true, failed: false, message: `daemon set "${name}" successfully rolled out`, ready: available, desired };
}
