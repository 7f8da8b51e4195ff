/**
 * The rollout planner: which workloads `sidecar-injector rollout` restarts so that every running
 * pod carries what the injector makes today, in the order it acts, and what it leaves alone and
 * why. The judgement is the audit's (audit.ts: its missing, stale and unexpected sidecar findings,
 * `sidecarState`, `podOwner`); the planner only groups those findings by the workload that makes
 * the pods and checks that a restart is safe now (not paused, not already rolling out, room left
 * by every PodDisruptionBudget, an update strategy that replaces pods). Pure: cluster facts (the
 * snapshot's trimmed objects and the PodDisruptionBudgets) in, ordered actions out, so the CLI and
 * a later in-server reconciler share it. `verifyRestartedPods` judges a restart's new pods the
 * same way.
 */
import {
  type AuditReport,
  FindingCode,
  RESTARTABLE_KINDS,
  type RestartableKind,
  auditCluster,
  deletePodCommand,
  podOwner,
  routedToInjector,
} from "../audit/audit.js";
import { Annotation, ContainerName, type LabelSelector } from "../config/config.js";
import { NotFoundError } from "../errors.js";
import { decide } from "../injection/decision.js";
import { type Pod, lookup } from "../injection/pod.js";
import { ReasonCode } from "../injection/reasons.js";
import { matchesSelector } from "../injection/selector.js";
import { readStatus } from "../injection/status.js";
import type { InjectionTemplate } from "../injection/template.js";
import { isObject } from "../json-values.js";
import { partitionOf, rolloutStatus, updateStrategyOf } from "./status.js";

type Json = Record<string, unknown>;

/** What a rollout can bring up to date: `--for missing,stale,unexpected`. */
export const RolloutFor = { missing: FindingCode.MissingSidecar, stale: FindingCode.StaleSidecar, unexpected: FindingCode.UnexpectedSidecar } as const;
export type RolloutFor = keyof typeof RolloutFor;
export const ROLLOUT_FOR_ALL: readonly RolloutFor[] = ["missing", "stale", "unexpected"];

/** The annotation `kubectl rollout restart` sets on the pod template. */
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";

/** Why the planner leaves pods with a finding (or an opted-out workload) alone: stable codes. */
export const UntouchedReason = {
  BarePod: "bare_pod",
  NotRestartable: "not_restartable",
  OptedOut: "opted_out",
  Paused: "paused",
  OnDelete: "on_delete_strategy",
  Partitioned: "partitioned",
  InRollout: "in_rollout",
  DisruptionBudget: "disruption_budget",
} as const;
export type UntouchedReason = (typeof UntouchedReason)[keyof typeof UntouchedReason];

export interface PlannedRestart {
  /** `Deployment/shop/web`. */
  readonly object: string;
  readonly kind: RestartableKind;
  readonly namespace: string;
  readonly name: string;
  /** How many of its running pods have each finding. */
  readonly findings: Readonly<Partial<Record<FindingCode, number>>>;
  /** The findings as a sentence: `2 pods missing the sidecar`. */
  readonly why: string;
  /** What its pods carry now, each distinct state once: `no sidecar`, `template 1a2b, image proxy:1.0`. */
  readonly from: readonly string[];
  /** What its new pods will carry. */
  readonly to: string;
  /** The same restart by hand, and its undo. */
  readonly command: string;
  readonly undo: string;
}

export interface Untouched {
  /** `Pod/shop/debug`, `Job/batch/nightly-28911`, `Deployment/shop/legacy`. */
  readonly object: string;
  readonly reason: UntouchedReason;
  readonly message: string;
  /** Pods of it with a finding the run is for (0 for an opted-out workload that has none). */
  readonly pods: number;
  /** What a person can run instead, when there is something. */
  readonly command?: string;
}

export interface RolloutPlan {
  readonly scope: { readonly namespace: string | null; readonly target: string | null; readonly for: readonly RolloutFor[] };
  /** In the order the executor starts them. */
  readonly restarts: readonly PlannedRestart[];
  readonly untouched: readonly Untouched[];
}

export interface RolloutTarget {
  readonly kind: RestartableKind;
  readonly name: string;
}

export interface PlanOptions {
  readonly template: InjectionTemplate;
  /** The namespace listed, or null for every namespace. */
  readonly namespace: string | null;
  /** Only this workload (in `namespace`). */
  readonly target?: RolloutTarget | undefined;
  readonly for: readonly RolloutFor[];
}

export interface RolloutFacts {
  /** The snapshot's objects (snapshot.ts): namespaces, pods, replicasets, workloads, jobs, trimmed. */
  readonly objects: readonly Json[];
  /** policy/v1 PodDisruptionBudgets of the namespaces covered. */
  readonly disruptionBudgets: readonly Json[];
}

interface Meta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string> | undefined;
  readonly annotations: Record<string, string> | undefined;
}

function metaOf(o: Json): Meta {
  const m = isObject(o.metadata) ? o.metadata : {};
  return {
    name: typeof m.name === "string" ? m.name : "<unnamed>",
    namespace: typeof m.namespace === "string" ? m.namespace : "",
    labels: isObject(m.labels) ? (m.labels as Record<string, string>) : undefined,
    annotations: isObject(m.annotations) ? (m.annotations as Record<string, string>) : undefined,
  };
}

const KIND_ORDER: Readonly<Record<string, number>> = { Deployment: 0, StatefulSet: 1, DaemonSet: 2 };
const keyOf = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The workload's pod template as a pod (what a new pod of it starts from). */
function templatePod(workload: Json): Pod {
  const m = metaOf(workload);
  const spec = isObject(workload.spec) ? workload.spec : {};
  const template = isObject(spec.template) ? spec.template : {};
  const tm = isObject(template.metadata) ? template.metadata : {};
  return { apiVersion: "v1", kind: "Pod", metadata: { ...tm, namespace: m.namespace }, spec: (isObject(template.spec) ? template.spec : { containers: [] }) as Pod["spec"] };
}

/** What a pod's sidecar is: `no sidecar`, or its template hash and proxy image. */
export function describeSidecar(pod: Json): string {
  const m = metaOf(pod);
  const status = readStatus(m.annotations);
  const spec = isObject(pod.spec) ? pod.spec : {};
  const containers = [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])].filter(isObject);
  const proxy = containers.find((c) => c.name === ContainerName.Proxy);
  if (status === null || proxy === undefined) return "no sidecar";
  return `template ${status.templateHash ?? "unknown"}, image ${typeof proxy.image === "string" ? proxy.image : "unknown"}`;
}

/** What a new pod of the workload gets from the current configuration. */
function currentSidecar(workload: Json, t: InjectionTemplate): string {
  const image = lookup(templatePod(workload).metadata?.annotations, Annotation.ProxyImage) ?? t.config.sidecar.image;
  return `template ${t.hash}, image ${image}`;
}

const FINDING_WORDS: Readonly<Partial<Record<FindingCode, [string, string]>>> = {
  missing_sidecar: ["pod missing the sidecar", "pods missing the sidecar"],
  stale_sidecar: ["pod with a stale sidecar", "pods with a stale sidecar"],
  unexpected_sidecar: ["pod with a sidecar it should not have", "pods with a sidecar they should not have"],
};

function whyOf(findings: Readonly<Partial<Record<FindingCode, number>>>): string {
  return Object.entries(findings)
    .map(([code, n]) => {
      const words = FINDING_WORDS[code as FindingCode] ?? [code, code];
      return plural(n ?? 0, words[0], words[1]);
    })
    .join(", ");
}

/** The PodDisruptionBudget that leaves no room for a disruption of the workload's pods right now, if any. */
function blockingBudget(workload: Json, budgets: readonly Json[]): { name: string; detail: string } | null {
  const m = metaOf(workload);
  const labels = templatePod(workload).metadata?.labels;
  for (const pdb of budgets) {
    const pm = metaOf(pdb);
    if (pm.namespace !== m.namespace) continue;
    const spec = isObject(pdb.spec) ? pdb.spec : {};
    // policy/v1: an empty selector selects every pod of the namespace.
    const selector = (isObject(spec.selector) ? spec.selector : {}) as LabelSelector;
    if (!matchesSelector(selector, labels as Record<string, string> | undefined)) continue;
    const status = isObject(pdb.status) ? pdb.status : {};
    if (status.disruptionsAllowed === 0) {
      const healthy = typeof status.currentHealthy === "number" ? status.currentHealthy : "?";
      const desired = typeof status.desiredHealthy === "number" ? status.desiredHealthy : "?";
      return { name: `${pm.namespace}/${pm.name}`, detail: `${healthy} healthy, ${desired} required` };
    }
  }
  return null;
}

/** Why a workload cannot be restarted safely right now, or null. */
function unsafeNow(kind: RestartableKind, workload: Json, budgets: readonly Json[]): { reason: UntouchedReason; message: string } | null {
  const spec = isObject(workload.spec) ? workload.spec : {};
  if (kind === "Deployment" && spec.paused === true) {
    return { reason: UntouchedReason.Paused, message: "The Deployment is paused: a restart would not roll out until it is resumed (kubectl rollout resume)." };
  }
  if (kind !== "Deployment" && updateStrategyOf(workload) !== "RollingUpdate") {
    return { reason: UntouchedReason.OnDelete, message: `Its update strategy is ${updateStrategyOf(workload)}: a restart replaces no pod; delete its pods yourself when it is safe.` };
  }
  if (kind === "StatefulSet" && partitionOf(workload) > 0) {
    return { reason: UntouchedReason.Partitioned, message: `Its rolling update is partitioned at ${partitionOf(workload)}: a restart would replace only the pods from that ordinal up.` };
  }
  const status = rolloutStatus(kind, workload);
  if (!status.done) {
    return { reason: UntouchedReason.InRollout, message: `Already mid-rollout (${status.message.replace(/\.\.\.$/, "")}); run again once it completes.` };
  }
  const budget = blockingBudget(workload, budgets);
  if (budget !== null) {
    return { reason: UntouchedReason.DisruptionBudget, message: `PodDisruptionBudget ${budget.name} allows no disruption right now (${budget.detail}); run again once it has room.` };
  }
  return null;
}

/** Does the workload's pod template opt out of injection (label or annotation), in a namespace sent to the injector? */
function optsOut(workload: Json, nsLabels: Record<string, string> | undefined, t: InjectionTemplate): boolean {
  if (!routedToInjector(nsLabels, t.config.revision, false)) return false;
  const m = metaOf(workload);
  const codes = new Set(decide(templatePod(workload), m.namespace, t.policy).reasons.map((r) => r.code));
  return codes.has(ReasonCode.PodLabelDisabled) || codes.has(ReasonCode.PodAnnotationDisabled);
}

/** The rollout plan for a snapshot (see the module comment). Throws NotFoundError for a target that is not there. */
export function planRollout(facts: RolloutFacts, opts: PlanOptions): RolloutPlan {
  const t = opts.template;
  const byKey = new Map<string, Json>();
  const nsLabels = new Map<string, Record<string, string> | undefined>();
  for (const o of facts.objects) {
    const m = metaOf(o);
    if (typeof o.kind === "string") byKey.set(keyOf(o.kind, m.namespace, m.name), o);
    if (o.kind === "Namespace") nsLabels.set(m.name, m.labels);
  }
  const targetKey = opts.target && keyOf(opts.target.kind, opts.namespace ?? "", opts.target.name);
  if (opts.target && targetKey !== undefined && !byKey.has(targetKey)) {
    throw new NotFoundError(`${opts.target.kind.toLowerCase()} ${opts.target.name} not found in namespace ${opts.namespace ?? ""}`);
  }
  const wanted = new Set<FindingCode>(opts.for.map((f) => RolloutFor[f]));
  const report: AuditReport = auditCluster(facts.objects, { template: t, webhookConfigsListed: false });

  interface Group {
    readonly kind: RestartableKind;
    readonly workload: Json;
    readonly findings: Partial<Record<FindingCode, number>>;
    readonly from: Set<string>;
    pods: number;
  }
  const groups = new Map<string, Group>();
  const others = new Map<string, { kind: string; namespace: string; name: string; pods: number }>();
  const untouched: Untouched[] = [];
  for (const f of report.findings) {
    if (!wanted.has(f.code)) continue;
    const pod = byKey.get(f.object);
    if (pod === undefined) continue;
    const owner = podOwner(pod, byKey);
    const pm = metaOf(pod);
    if (owner.type === "workload") {
      const key = keyOf(owner.kind, owner.namespace, owner.name);
      if (targetKey !== undefined && key !== targetKey) continue;
      const workload = byKey.get(key);
      if (workload === undefined) {
        // Its owner is not in the snapshot (deleted meanwhile): nothing to restart.
        untouched.push({ object: f.object, reason: UntouchedReason.NotRestartable, pods: 1, message: `Its ${owner.kind} ${owner.name} is gone; the pod will go with it.` });
        continue;
      }
      let g = groups.get(key);
      if (g === undefined) {
        g = { kind: owner.kind, workload, findings: {}, from: new Set(), pods: 0 };
        groups.set(key, g);
      }
      g.findings[f.code] = (g.findings[f.code] ?? 0) + 1;
      g.from.add(describeSidecar(pod));
      g.pods++;
      continue;
    }
    if (targetKey !== undefined) continue;
    if (owner.type === "none") {
      untouched.push({
        object: f.object,
        reason: UntouchedReason.BarePod,
        pods: 1,
        message: "A bare pod: no controller re-creates it, so the rollout does not delete it.",
        command: deletePodCommand(pm.namespace, pm.name),
      });
      continue;
    }
    const key = keyOf(owner.kind, owner.namespace, owner.name);
    const other = others.get(key) ?? { ...owner, pods: 0 };
    other.pods++;
    others.set(key, other);
  }
  for (const [key, o] of others) {
    const job = o.kind === "Job";
    untouched.push({
      object: key,
      reason: UntouchedReason.NotRestartable,
      pods: o.pods,
      message: job
        ? "A Job's pods run to completion and are not restarted; its next pods (and a CronJob's next Jobs) get the current sidecar."
        : `A ${o.kind} is not restarted by the rollout (only Deployments, StatefulSets and DaemonSets are).`,
    });
  }

  const restarts: PlannedRestart[] = [];
  for (const [key, g] of groups) {
    const m = metaOf(g.workload);
    const command = `kubectl rollout restart ${g.kind.toLowerCase()}/${m.name} -n ${m.namespace}`;
    if (optsOut(g.workload, nsLabels.get(m.namespace), t)) {
      untouched.push({ object: key, reason: UntouchedReason.OptedOut, pods: g.pods, message: "Its pod template opts out of injection; the rollout leaves it alone. Restart it yourself if its pods should lose the sidecar.", command });
      continue;
    }
    const unsafe = unsafeNow(g.kind, g.workload, facts.disruptionBudgets);
    if (unsafe !== null) {
      untouched.push({ object: key, reason: unsafe.reason, pods: g.pods, message: unsafe.message });
      continue;
    }
    const onlyUnexpected = Object.keys(g.findings).every((c) => c === FindingCode.UnexpectedSidecar);
    const findings = Object.fromEntries(Object.values(RolloutFor).flatMap((c) => (g.findings[c] === undefined ? [] : [[c, g.findings[c]]])));
    restarts.push({
      object: key,
      kind: g.kind,
      namespace: m.namespace,
      name: m.name,
      findings,
      why: whyOf(findings),
      from: [...g.from].sort(),
      to: onlyUnexpected ? "no sidecar" : currentSidecar(g.workload, t),
      command,
      undo: `kubectl rollout undo ${g.kind.toLowerCase()}/${m.name} -n ${m.namespace}`,
    });
  }
  // Opted-out workloads without findings, in namespaces sent to the injector: named, so nobody wonders.
  if (targetKey === undefined) {
    for (const o of facts.objects) {
      const kind = o.kind;
      if (typeof kind !== "string" || !(RESTARTABLE_KINDS as readonly string[]).includes(kind)) continue;
      const m = metaOf(o);
      const key = keyOf(kind, m.namespace, m.name);
      if (groups.has(key) || !optsOut(o, nsLabels.get(m.namespace), t)) continue;
      untouched.push({ object: key, reason: UntouchedReason.OptedOut, pods: 0, message: "Its pod template opts out of injection; the rollout leaves it alone." });
    }
  }

  const order = (object: string): [string, number, string] => {
    const [kind = "", namespace = "", ...name] = object.split("/");
    return [namespace, KIND_ORDER[kind] ?? 9, `${kind}/${name.join("/")}`];
  };
  const compare = (a: string, b: string): number => {
    const [an, ak, ar] = order(a);
    const [bn, bk, br] = order(b);
    return an < bn ? -1 : an > bn ? 1 : ak !== bk ? ak - bk : ar < br ? -1 : ar > br ? 1 : 0;
  };
  restarts.sort((a, b) => compare(a.object, b.object));
  untouched.sort((a, b) => compare(a.object, b.object));
  return {
    scope: { namespace: opts.namespace, target: opts.target ? `${opts.target.kind}/${opts.target.name}` : null, for: [...opts.for] },
    restarts,
    untouched,
  };
}

/**
 * Whether a restart's new pods carry what the configuration renders (or, for a restart that
 * removes an unexpected sidecar, none): the audit's judgement of those pods. Returns one sentence
 * per pod that does not, empty when all do.
 */
export function verifyRestartedPods(pods: readonly Json[], namespace: Json, t: InjectionTemplate): string[] {
  const report = auditCluster([namespace, ...pods], { template: t, webhookConfigsListed: false });
  return report.findings
    .filter((f) => f.code === FindingCode.MissingSidecar || f.code === FindingCode.StaleSidecar || f.code === FindingCode.UnexpectedSidecar)
    .map((f) => `${f.object}: ${f.message}`);
}
