/**
 * `sidecar-injector rollout [KIND/NAME] (-n NS | -A)`: read the cluster with the caller's own
 * credentials (the audit's paged, trimmed snapshot plus the PodDisruptionBudgets), plan
 * (plan.ts), and print the plan; with --yes, carry it out (execute.ts) with progress: one live
 * line per workload in flight on a terminal, plain lines otherwise, nothing but the result with
 * -o json. Exit codes: 0 done or nothing to do (and always for a plan), 3 stopped on a failure,
 * 1 invalid input, not found or refused (2, usage, is the CLI's).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { type CommandIO, loadCommandConfig, reportFailure } from "../command-io.js";
import { InvalidInputError, KubeApiError } from "../errors.js";
import { compileTemplate } from "../injection/template.js";
import { clusterAccessFrom, kubeConfigFor } from "../kube/client.js";
import { listClusterObjects } from "../kube/snapshot.js";
import { equalitySelector, getWorkload, listDisruptionBudgets, listPodsBySelector, restartWorkload } from "../kube/workloads.js";
import { EXIT_FINDINGS } from "../audit/command.js";
import { type RolloutCluster, type RolloutEvent, executeRollout } from "./execute.js";
import { formatPlan, formatRun } from "./format.js";
import { type PlannedRestart, type RolloutFor, type RolloutPlan, type RolloutTarget, planRollout } from "./plan.js";

type Json = Record<string, unknown>;

export interface RolloutOptions {
  /** null: every namespace (-A). */
  readonly namespace: string | null;
  readonly target?: RolloutTarget | undefined;
  readonly for: readonly RolloutFor[];
  readonly maxInFlight: number;
  readonly timeoutMs: number;
  readonly yes: boolean;
  readonly output: "table" | "json";
  readonly configPath?: string | undefined;
}

/** What the command needs beyond CommandIO: whether stdout is a terminal, and time (swapped in by tests). */
export interface RolloutIO extends CommandIO {
  readonly isTTY: boolean;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Exit code of a run stopped on a failure. */
export const EXIT_STOPPED = EXIT_FINDINGS;

function kubeCluster(kc: KubeConfig, namespaces: ReadonlyMap<string, Json>): RolloutCluster {
  return {
    restart: async (r, at) => void (await restartWorkload(kc, r.kind, r.namespace, r.name, at)),
    read: (r) => getWorkload(kc, r.kind, r.namespace, r.name),
    pods: (r, selector) => listPodsBySelector(kc, r.namespace, equalitySelector(selector.matchLabels)),
    namespace: (r) => namespaces.get(r.namespace) ?? { kind: "Namespace", metadata: { name: r.namespace } },
  };
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)}s`;

/**
 * Progress for people: on a terminal, one live line per workload in flight (elapsed time,
 * ready/desired, kubectl's status sentence), redrawn in place, and a line of its own for each that
 * ends; elsewhere one plain line per change.
 */
export function progressReporter(io: Pick<RolloutIO, "isTTY" | "stdout">, plan: RolloutPlan): (e: RolloutEvent) => void {
  const total = plan.restarts.length;
  const index = (r: PlannedRestart) => plan.restarts.indexOf(r) + 1;
  if (!io.isTTY) {
    const last = new Map<string, string>();
    return (e) => {
      const tag = `[${index(e.restart)}/${total}] ${e.restart.object}`;
      if (e.type === "started") io.stdout(`${tag}: restarted (restartedAt ${e.restartedAt})\n`);
      else if (e.type === "progress") {
        if (e.status.done || e.status.failed) return; // the finished line says it
        const line = `${e.status.ready}/${e.status.desired} ready: ${e.status.message}`;
        if (last.get(e.restart.object) !== line) io.stdout(`${tag}: ${line}\n`);
        last.set(e.restart.object, line);
      } else io.stdout(`${tag}: ${e.result.outcome}: ${e.result.message}\n`);
    };
  }
  const live = new Map<string, string>();
  let drawn = 0;
  const draw = (): void => {
    let text = drawn > 0 ? `\x1b[${drawn}A` : "";
    for (const line of live.values()) text += `\x1b[2K${line}\n`;
    text += "\x1b[J";
    drawn = live.size;
    io.stdout(text);
  };
  return (e) => {
    const tag = `[${index(e.restart)}/${total}] ${e.restart.object}`;
    if (e.type === "started") live.set(e.restart.object, `${tag}  0s  restarted`);
    else if (e.type === "progress") live.set(e.restart.object, `${tag}  ${seconds(e.elapsedMs)}  ${e.status.ready}/${e.status.desired} ready  ${e.status.message}`);
    else {
      live.delete(e.restart.object);
      // A finished workload leaves the live block as a line of its own, above it.
      io.stdout(`${drawn > 0 ? `\x1b[${drawn}A\x1b[J` : ""}${tag}  ${e.result.elapsedSeconds ?? 0}s  ${e.result.outcome}: ${e.result.message}\n`);
      drawn = 0;
    }
    draw();
  };
}

export async function runRollout(opts: RolloutOptions, io: RolloutIO): Promise<number> {
  try {
    const config = await loadCommandConfig(io.env, opts.configPath);
    const template = compileTemplate(config);
    const kc = await kubeConfigFor(clusterAccessFrom(io.env));
    if (kc === null) throw new InvalidInputError(["no cluster: set KUBECONFIG (or run in a pod)"]);
    const namespace = opts.namespace ?? undefined;
    const snapshot = await listClusterObjects(kc, namespace);
    const disruptionBudgets = await listDisruptionBudgets(kc, namespace);
    const plan = planRollout({ objects: snapshot.objects, disruptionBudgets }, { template, namespace: opts.namespace, target: opts.target, for: opts.for });
    if (!opts.yes) {
      io.stdout(formatPlan(plan, opts.output, opts.maxInFlight));
      return 0;
    }
    const namespaces = new Map(snapshot.objects.filter((o) => o.kind === "Namespace").map((o) => [String((o.metadata as Json).name), o]));
    if (opts.output === "table" && plan.restarts.length > 0) io.stdout(`Rolling out ${plan.restarts.length} workload(s), at most ${opts.maxInFlight} at a time.\n`);
    const run = await executeRollout(plan.restarts, kubeCluster(kc, namespaces), {
      template,
      maxInFlight: opts.maxInFlight,
      timeoutMs: opts.timeoutMs,
      now: io.now ?? Date.now,
      sleep: io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      ...(opts.output === "table" && { onEvent: progressReporter(io, plan) }),
    });
    io.stdout(formatRun(plan, run, opts.output));
    const refused = run.results.find((r) => r.outcome === "error");
    if (refused !== undefined) {
      // A refused call is the caller's to fix (rights, a vanished workload): exit 1, as for a refused read.
      return reportFailure(new KubeApiError(refused.message), io);
    }
    return run.stopped ? EXIT_STOPPED : 0;
  } catch (err) {
    return reportFailure(err, io);
  }
}
