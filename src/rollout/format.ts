/** The rollout plan and the rollout's results, as tables for people or JSON for scripts. */
import { table } from "../audit/format.js";
import type { RestartResult, RolloutRun } from "./execute.js";
import type { RolloutPlan } from "./plan.js";

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function scopeLine(plan: RolloutPlan): string {
  const where = plan.scope.namespace === null ? "every namespace" : `namespace ${plan.scope.namespace}`;
  const what = plan.scope.target === null ? where : `${plan.scope.target} in ${where}`;
  return `${what}, for ${plan.scope.for.join(", ")} sidecars`;
}

function untouchedLines(plan: RolloutPlan): string[] {
  if (plan.untouched.length === 0) return [];
  return [
    "",
    `NOT TOUCHED (${plan.untouched.length})`,
    ...table([["OBJECT", "REASON", "PODS", "WHY"], ...plan.untouched.map((u) => [u.object, u.reason, String(u.pods), u.command === undefined ? u.message : `${u.message} By hand: ${u.command}`])]),
  ];
}

/** The plan (without --yes): what would be restarted, in order, and what is left alone. */
export function formatPlan(plan: RolloutPlan, output: "table" | "json", maxInFlight: number): string {
  if (output === "json") return `${JSON.stringify({ mode: "plan", ...plan }, null, 2)}\n`;
  const lines = [`Rollout plan: ${scopeLine(plan)}.`];
  if (plan.restarts.length === 0) {
    lines.push("", "Nothing to restart: every running pod of a Deployment, StatefulSet or DaemonSet in scope carries what the injector makes today, or is listed below.");
  } else {
    lines.push(
      "",
      `RESTART (${plan.restarts.length}, in this order, at most ${maxInFlight} at a time)`,
      ...table([["#", "WORKLOAD", "WHY", "NOW", "AFTER"], ...plan.restarts.map((r, i) => [String(i + 1), r.object, r.why, r.from.join("; "), r.to])]),
    );
  }
  lines.push(...untouchedLines(plan));
  lines.push("", plan.restarts.length === 0 ? "Nothing was changed." : "Nothing was changed. Run again with --yes to restart them.");
  return `${lines.join("\n")}\n`;
}

function counts(run: RolloutRun): Record<string, number> {
  const out: Record<string, number> = { done: 0, failed: 0, error: 0, not_started: 0 };
  for (const r of run.results) out[r.outcome] = (out[r.outcome] ?? 0) + 1;
  return out;
}

/** The end of a run with --yes: a result per workload, and for a failure what to do about it. */
export function formatRun(plan: RolloutPlan, run: RolloutRun, output: "table" | "json"): string {
  if (output === "json") {
    return `${JSON.stringify({ mode: "run", scope: plan.scope, summary: counts(run), results: run.results, untouched: plan.untouched }, null, 2)}\n`;
  }
  const c = counts(run);
  const lines: string[] = [];
  if (run.results.length === 0) {
    lines.push(`Rollout: ${scopeLine(plan)}.`, "", "Nothing to restart: every running pod of a Deployment, StatefulSet or DaemonSet in scope carries what the injector makes today, or is listed below.");
  } else {
    lines.push(
      "",
      `RESULT: ${plural(c.done ?? 0, "workload")} done, ${c.failed ?? 0} failed, ${c.error ?? 0} refused, ${c.not_started ?? 0} not started`,
      ...table([["WORKLOAD", "OUTCOME", "ELAPSED", "READY", "MESSAGE"], ...run.results.map((r) => [r.object, r.outcome, r.elapsedSeconds === undefined ? "-" : `${r.elapsedSeconds}s`, r.desired === undefined ? "-" : `${r.ready}/${r.desired}`, r.message])]),
    );
  }
  const bad = run.results.filter((r) => r.outcome === "failed" || r.outcome === "error");
  for (const r of bad) lines.push("", ...failureLines(r));
  lines.push(...untouchedLines(plan));
  if (run.stopped) lines.push("", "Stopped: no further restart was started. Fix the cause, then run the same command again; it continues with what is still out of date.");
  return `${lines.join("\n")}\n`;
}

function failureLines(r: RestartResult): string[] {
  return [
    `${r.outcome === "error" ? "REFUSED" : "FAILED"}: ${r.object}: ${r.message}`,
    ...(r.problems ?? []).map((p) => `  ${p}`),
    ...(r.undo === undefined ? [] : [`  undo: ${r.undo}`]),
  ];
}
