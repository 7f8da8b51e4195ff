/**
 * The rollout executor: the plan's restarts, at most `maxInFlight` workloads mid-rollout at a
 * time. Each is restarted as `kubectl rollout restart` does, followed by the rules of
 * `kubectl rollout status` (status.ts) until it completes, fails (a progress deadline) or its
 * timeout passes, and then its new pods (those carrying this restart's restartedAt) are judged by
 * the audit: they must carry what the configuration renders. On the first failure no further
 * restart starts; those in flight are followed to their end. Nothing is scaled, deleted or
 * evicted: the workloads' own controllers replace the pods. Thin: the cluster is an interface (the
 * CLI's is kube/workloads.ts), time is injected.
 */
import { InjectorError } from "../errors.js";
import type { LabelSelector } from "../config/config.js";
import { matchesSelector } from "../injection/selector.js";
import type { InjectionTemplate } from "../injection/template.js";
import { isObject } from "../json-values.js";
import { type PlannedRestart, RESTARTED_AT_ANNOTATION, verifyRestartedPods } from "./plan.js";
import { type RolloutStatus, rolloutStatus } from "./status.js";

type Json = Record<string, unknown>;

/** What the executor needs of the cluster. */
export interface RolloutCluster {
  /** Patch the pod template's restartedAt; resolves when the API server accepted it. */
  restart(r: PlannedRestart, restartedAt: string): Promise<void>;
  /** The workload as it is now. */
  read(r: PlannedRestart): Promise<Json>;
  /** The workload's pods (at least those its selector's equality terms select). */
  pods(r: PlannedRestart, selector: LabelSelector): Promise<Json[]>;
  /** The Namespace object of the workload (its labels decide what its pods should carry). */
  namespace(r: PlannedRestart): Json;
}

export interface ExecuteOptions {
  readonly template: InjectionTemplate;
  readonly maxInFlight: number;
  /** How long one workload's rollout may take, from its restart to its completion. */
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** The longest pause between two reads of a workload in flight (they start at a tenth of it). */
  readonly pollMs?: number;
  readonly onEvent?: (e: RolloutEvent) => void;
}

export const RestartOutcome = {
  /** Rolled out, and its new pods carry the current sidecar. */
  Done: "done",
  /** A timeout, a progress deadline, or new pods without the current sidecar. */
  Failed: "failed",
  /** The API server refused or failed a call (a forbidden patch). */
  Error: "error",
  /** Not started: an earlier failure stopped the run. */
  NotStarted: "not_started",
} as const;
export type RestartOutcome = (typeof RestartOutcome)[keyof typeof RestartOutcome];

export interface RestartResult {
  readonly object: string;
  readonly outcome: RestartOutcome;
  /** The last rollout status sentence, or what failed. */
  readonly message: string;
  readonly restartedAt?: string;
  readonly elapsedSeconds?: number;
  readonly ready?: number;
  readonly desired?: number;
  /** New pods that do not carry what the configuration renders. */
  readonly problems?: readonly string[];
  /** How to undo it (after a failure). */
  readonly undo?: string;
}

export type RolloutEvent =
  | { readonly type: "started"; readonly restart: PlannedRestart; readonly restartedAt: string }
  | { readonly type: "progress"; readonly restart: PlannedRestart; readonly status: RolloutStatus; readonly elapsedMs: number }
  | { readonly type: "finished"; readonly restart: PlannedRestart; readonly result: RestartResult };

export interface RolloutRun {
  readonly results: readonly RestartResult[];
  /** Some restart failed or was refused. */
  readonly stopped: boolean;
}

/** RFC 3339 in UTC to the second, as `kubectl rollout restart` writes restartedAt. */
export function restartedAtOf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

/** The workload's pod selector (spec.selector). */
function selectorOf(workload: Json): LabelSelector {
  const spec = isObject(workload.spec) ? workload.spec : {};
  return (isObject(spec.selector) ? spec.selector : {}) as LabelSelector;
}

/** A pod of this restart: selected by the workload, carrying its restartedAt, not on its way out. */
function isNewPod(pod: Json, selector: LabelSelector, restartedAt: string): boolean {
  const m = isObject(pod.metadata) ? pod.metadata : {};
  const labels = isObject(m.labels) ? (m.labels as Record<string, string>) : undefined;
  const annotations = isObject(m.annotations) ? m.annotations : {};
  const phase = isObject(pod.status) ? pod.status.phase : undefined;
  return (
    matchesSelector(selector, labels) &&
    annotations[RESTARTED_AT_ANNOTATION] === restartedAt &&
    m.deletionTimestamp === undefined &&
    phase !== "Succeeded" &&
    phase !== "Failed"
  );
}

async function restartOne(r: PlannedRestart, cluster: RolloutCluster, opts: ExecuteOptions): Promise<RestartResult> {
  const started = opts.now();
  const restartedAt = restartedAtOf(started);
  const elapsed = () => Math.round((opts.now() - started) / 1000);
  const failed = (message: string, extra: Partial<RestartResult> = {}): RestartResult => ({ object: r.object, outcome: RestartOutcome.Failed, message, restartedAt, elapsedSeconds: elapsed(), undo: r.undo, ...extra });
  try {
    await cluster.restart(r, restartedAt);
    opts.onEvent?.({ type: "started", restart: r, restartedAt });
    const maxPoll = opts.pollMs ?? 1000;
    let poll = Math.max(1, Math.round(maxPoll / 10));
    let workload: Json;
    let status: RolloutStatus;
    for (;;) {
      workload = await cluster.read(r);
      status = rolloutStatus(r.kind, workload);
      opts.onEvent?.({ type: "progress", restart: r, status, elapsedMs: opts.now() - started });
      if (status.failed) return failed(status.message, { ready: status.ready, desired: status.desired });
      if (status.done) break;
      if (opts.now() - started >= opts.timeoutMs) {
        return failed(`timed out after ${Math.round(opts.timeoutMs / 1000)} s: ${status.message.replace(/\.\.\.$/, "")}`, { ready: status.ready, desired: status.desired });
      }
      await opts.sleep(poll);
      poll = Math.min(maxPoll, poll * 2);
    }
    const selector = selectorOf(workload);
    const pods = (await cluster.pods(r, selector)).filter((p) => isNewPod(p, selector, restartedAt));
    const counts = { ready: status.ready, desired: status.desired };
    if (pods.length === 0 && status.desired > 0) return failed("rolled out, but no pod carries this restart (restartedAt was changed by someone else?)", counts);
    const problems = verifyRestartedPods(pods, cluster.namespace(r), opts.template);
    if (problems.length > 0) return failed(`rolled out, but ${problems.length} of its ${pods.length} new pods do not carry the current sidecar`, { ...counts, problems });
    return { object: r.object, outcome: RestartOutcome.Done, message: status.message, restartedAt, elapsedSeconds: elapsed(), ...counts };
  } catch (err) {
    if (!(err instanceof InjectorError)) throw err;
    return { object: r.object, outcome: RestartOutcome.Error, message: err.message, restartedAt, elapsedSeconds: elapsed() };
  }
}

/** Run the restarts (see the module comment); results in the plan's order. */
export async function executeRollout(restarts: readonly PlannedRestart[], cluster: RolloutCluster, opts: ExecuteOptions): Promise<RolloutRun> {
  const results = new Map<string, RestartResult>();
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && next < restarts.length) {
      const r = restarts[next++] as PlannedRestart;
      const result = await restartOne(r, cluster, opts);
      results.set(r.object, result);
      opts.onEvent?.({ type: "finished", restart: r, result });
      if (result.outcome !== RestartOutcome.Done) stopped = true;
    }
  };
  const workers = Math.max(1, Math.min(opts.maxInFlight, restarts.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return {
    stopped,
    results: restarts.map((r) => results.get(r.object) ?? { object: r.object, outcome: RestartOutcome.NotStarted, message: "not started: the run stopped at a failure" }),
  };
}
