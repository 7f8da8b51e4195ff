/**
 * `explain` against a cluster: for each workload (judged by its pod template) and each pod (judged
 * by its spec, as it was before injection), every mutating webhook the API server would call for a
 * new pod of it, in the API server's order and with why; then this injector's own decision (the
 * admission pipeline itself); then what its running pods carry (current, stale, no sidecar); then
 * the findings, with the audit's codes and fixes. Pure: a list of cluster objects (plain JSON, as
 * the audit reads them) in, a report out. The CLI lists them with the caller's credentials; the
 * server (GET /explain) reads them from its watch-backed caches.
 */
import { Annotation, Label } from "../config/config.js";
import { InjectorError, InvalidInputError, NotFoundError } from "../errors.js";
import {
  FINDING_SEVERITY,
  type Finding,
  FindingCode,
  PODSECURITY_FIX,
  type Severity,
  Severities,
  auditCluster,
  conflictFinding,
  routedToInjector,
  sidecarState,
} from "../audit/audit.js";
import { parseInjectValue } from "../injection/decision.js";
import { type InjectionContext, POD_SECURITY_ENFORCE_LABEL, runInjection } from "../injection/pipeline.js";
import { type Pod, assertPodShape, lookup } from "../injection/pod.js";
import { type Reason, ReasonCode } from "../injection/reasons.js";
import { readStatus } from "../injection/status.js";
import { isObject } from "../json-values.js";
import { type WebhookMatch, WebhookMatchCode, injectorConflict, injectorKind, matchWebhooks } from "../webhooks/match.js";

type Json = Record<string, unknown>;

/** The kinds explain judges, as `explain KIND/NAME` accepts them (kubectl's names and short names). */
export const EXPLAIN_KINDS: Readonly<Record<string, ExplainKind>> = {
  pod: "Pod",
  pods: "Pod",
  po: "Pod",
  deployment: "Deployment",
  deployments: "Deployment",
  deploy: "Deployment",
  statefulset: "StatefulSet",
  statefulsets: "StatefulSet",
  sts: "StatefulSet",
  daemonset: "DaemonSet",
  daemonsets: "DaemonSet",
  ds: "DaemonSet",
  job: "Job",
  jobs: "Job",
  replicaset: "ReplicaSet",
  replicasets: "ReplicaSet",
  rs: "ReplicaSet",
};
export type ExplainKind = "Pod" | "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicaSet";

/** Workload kinds in the order a report lists them (then bare pods). */
const KIND_ORDER: readonly ExplainKind[] = ["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "Pod"];

/** Who creates each workload's pods: the API server gives matchConditions this as request.userInfo. */
const POD_CREATOR: Readonly<Record<ExplainKind, string>> = {
  Deployment: "system:serviceaccount:kube-system:replicaset-controller",
  ReplicaSet: "system:serviceaccount:kube-system:replicaset-controller",
  StatefulSet: "system:serviceaccount:kube-system:statefulset-controller",
  DaemonSet: "system:serviceaccount:kube-system:daemon-set-controller",
  Job: "system:serviceaccount:kube-system:job-controller",
  Pod: "",
};

/** What to explain: one object, or everything in a namespace, or (namespace null) in the cluster. */
export interface ExplainTarget {
  readonly namespace: string | null;
  readonly kind?: ExplainKind;
  readonly name?: string;
}

/** The kinds as a sentence names them, for messages. */
export const EXPLAIN_KIND_NAMES = "pod, deployment, statefulset, daemonset, job, replicaset";

/** A kind as kubectl accepts it (`deploy`, `Deployment`, `deployments`), or undefined. */
export function explainKindOf(text: string): ExplainKind | undefined {
  const key = text.toLowerCase();
  return Object.hasOwn(EXPLAIN_KINDS, key) ? EXPLAIN_KINDS[key] : undefined;
}

/** Read `deployment/web` (or `deploy/web`, `pod/web-abc`): throws InvalidInputError naming the accepted kinds. */
export function parseObjectRef(text: string): { kind: ExplainKind; name: string } {
  const slash = text.indexOf("/");
  const kind = slash < 0 ? undefined : explainKindOf(text.slice(0, slash));
  const name = slash < 0 ? "" : text.slice(slash + 1);
  if (kind === undefined || name === "" || name.includes("/")) {
    throw new InvalidInputError([`${JSON.stringify(text)} is not KIND/NAME with KIND one of ${EXPLAIN_KIND_NAMES}`]);
  }
  return { kind, name };
}

/** The explain verdict: the pipeline's, or `not_called` when the API server would not send the pod here at all. */
export type ExplainDecision = "inject" | "skip" | "already_injected" | "deny" | "not_called" | "rejected";

export interface PodSidecar {
  readonly name: string;
  /** `current`: ours, from the current configuration; `stale`: ours, older; `none`: no sidecar of ours. */
  readonly sidecar: "current" | "stale" | "none";
  readonly detail: string;
}

export interface ExplainedObject {
  /** `Deployment/shop/web` (the form findings use). */
  readonly object: string;
  readonly kind: ExplainKind;
  readonly namespace: string;
  readonly name: string;
  readonly judged: "pod template" | "pod spec";
  /** Every webhook of every MutatingWebhookConfiguration, in calling order (empty when they could not be listed). */
  readonly webhooks: readonly WebhookMatch[];
  /** The sidecar injectors the API server would call (`configuration/webhook (whose)`), in order. */
  readonly injectors: readonly string[];
  readonly decision: ExplainDecision;
  readonly reasons: ReadonlyArray<Pick<Reason, "code" | "message">>;
  /** The warnings the webhook would return when the pod is created. */
  readonly warnings: readonly string[];
  /** Why the webhook (deny) or the API server (rejected) would refuse the pod. */
  readonly error?: { readonly code: string; readonly message: string; readonly problems: readonly string[] };
  /** The running pods: the object's own pods, or the pod itself. */
  readonly pods: readonly PodSidecar[];
  readonly findings: readonly Finding[];
}

export interface ExplainReport {
  /** `namespace shop`, `deployment/web in namespace shop`, `all namespaces`. */
  readonly scope: string;
  readonly summary: {
    readonly objects: number;
    readonly decisions: Readonly<Partial<Record<ExplainDecision, number>>>;
    readonly pods: { readonly current: number; readonly stale: number; readonly none: number };
    readonly findings: Readonly<Record<Severity, number>>;
  };
  readonly objects: readonly ExplainedObject[];
  /** Findings about the namespaces and webhook configurations rather than one object. */
  readonly findings: readonly Finding[];
  /** What the answer could not see, and what it assumed instead. */
  readonly notes: readonly string[];
}

export interface ExplainOptions {
  readonly context: InjectionContext;
  /** The CA the injector serves with (PEM), to check our webhooks' caBundle; unchecked when absent. */
  readonly servedCa?: string | undefined;
  /** False when the webhook configurations could not be listed; the answer then infers from namespace labels. */
  readonly webhookConfigsListed: boolean;
  readonly webhookConfigsError?: string | undefined;
}

interface Meta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly controller: { readonly kind: string; readonly name: string } | null;
}

function metaOf(o: Json): Meta {
  const m = isObject(o.metadata) ? o.metadata : {};
  const owners = Array.isArray(m.ownerReferences) ? m.ownerReferences.filter(isObject) : [];
  const owner = owners.find((r) => r.controller === true);
  return {
    name: typeof m.name === "string" ? m.name : "<unnamed>",
    namespace: typeof m.namespace === "string" ? m.namespace : "",
    labels: (isObject(m.labels) ? m.labels : {}) as Record<string, string>,
    annotations: (isObject(m.annotations) ? m.annotations : {}) as Record<string, string>,
    controller: owner && typeof owner.kind === "string" && typeof owner.name === "string" ? { kind: owner.kind, name: owner.name } : null,
  };
}

const refOf = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

/**
 * The pod the API server would be creating: a workload's template as a Pod, or a running pod as it
 * was before injection (what our status record lists taken out), so the webhooks are judged as
 * they were when it was created.
 */
function podAsCreated(o: Json, kind: ExplainKind, m: Meta): Json {
  if (kind !== "Pod") {
    const spec = isObject(o.spec) ? o.spec : {};
    const template = isObject(spec.template) ? spec.template : {};
    const tmeta = isObject(template.metadata) ? template.metadata : {};
    return { apiVersion: "v1", kind: "Pod", metadata: { ...tmeta, namespace: m.namespace }, spec: isObject(template.spec) ? template.spec : {} };
  }
  const status = readStatus(m.annotations);
  const meta = isObject(o.metadata) ? o.metadata : {};
  const spec = isObject(o.spec) ? o.spec : {};
  if (status === null) return { apiVersion: "v1", kind: "Pod", metadata: meta, spec };
  const ours = new Set([...status.containers, ...status.initContainers]);
  const volumes = new Set(status.volumes);
  const named = (list: unknown, drop: ReadonlySet<string>) =>
    Array.isArray(list) ? list.filter((c) => !(isObject(c) && typeof c.name === "string" && drop.has(c.name))) : list;
  const { [Annotation.Status]: _status, [Annotation.TemplateHash]: _hash, ...annotations } = m.annotations;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { ...meta, annotations },
    spec: {
      ...spec,
      containers: named(spec.containers, ours),
      ...(spec.initContainers !== undefined && { initContainers: named(spec.initContainers, ours) }),
      ...(spec.volumes !== undefined && { volumes: named(spec.volumes, volumes) }),
    },
  };
}

/** Which objects a request explains, in report order. */
function targetsOf(objects: readonly Json[], target: ExplainTarget, listed: ReadonlySet<string>): Array<{ o: Json; kind: ExplainKind; m: Meta }> {
  const inScope = (m: Meta) => target.namespace === null || m.namespace === target.namespace;
  const candidates = objects.flatMap((o) => {
    const kind = o.kind as ExplainKind;
    if (!KIND_ORDER.includes(kind)) return [];
    const m = metaOf(o);
    return inScope(m) ? [{ o, kind, m }] : [];
  });
  if (target.kind !== undefined) {
    const found = candidates.find((c) => c.kind === target.kind && c.m.name === target.name);
    if (found === undefined) {
      throw new NotFoundError(`${target.kind.toLowerCase()}/${target.name} not found in namespace ${target.namespace ?? "(any)"}`);
    }
    return [found];
  }
  // Everything whose new pods someone creates: workloads without a listed owner, and pods without one.
  const picked = candidates.filter((c) => c.m.controller === null || !listed.has(refOf(c.m.controller.kind, c.m.namespace, c.m.controller.name)));
  const rank = (k: ExplainKind) => KIND_ORDER.indexOf(k);
  return picked.sort((a, b) =>
    a.m.namespace !== b.m.namespace ? (a.m.namespace < b.m.namespace ? -1 : 1) : rank(a.kind) !== rank(b.kind) ? rank(a.kind) - rank(b.kind) : a.m.name < b.m.name ? -1 : a.m.name > b.m.name ? 1 : 0,
  );
}

export function explainCluster(input: readonly Json[], target: ExplainTarget, opts: ExplainOptions): ExplainReport {
  const t = opts.context.template;
  const service = t.config.service;
  // Only what the answer needs: the namespaces in scope with their objects, and the webhook configurations.
  const objects = input.filter((o) => {
    if (o.kind === "MutatingWebhookConfiguration") return opts.webhookConfigsListed;
    const m = metaOf(o);
    if (target.namespace === null) return true;
    return o.kind === "Namespace" ? m.name === target.namespace : m.namespace === target.namespace;
  });
  const namespaces = new Map<string, Record<string, string>>();
  const listed = new Set<string>();
  for (const o of objects) {
    const m = metaOf(o);
    if (o.kind === "Namespace") namespaces.set(m.name, m.labels);
    if (typeof o.kind === "string") listed.add(refOf(o.kind, m.namespace, m.name));
  }
  const configs = objects.filter((o) => o.kind === "MutatingWebhookConfiguration");
  const audit = auditCluster(objects, { template: t, servedCa: opts.servedCa, webhookConfigsListed: opts.webhookConfigsListed });
  const findingsOf = new Map<string, Finding[]>();
  const general: Finding[] = [];
  for (const f of audit.findings) {
    // Conflicts and Pod Security are judged per object below, from the same matches the answer shows.
    if (f.code === FindingCode.WebhookConflict || f.code === FindingCode.PodSecurityConflict) continue;
    if (KIND_ORDER.includes(f.object.slice(0, f.object.indexOf("/")) as ExplainKind)) findingsOf.set(f.object, [...(findingsOf.get(f.object) ?? []), f]);
    else general.push(f);
  }
  // Pods by their controller, and ReplicaSets by theirs (a Deployment's pods are its ReplicaSets' pods).
  const children = new Map<string, Json[]>();
  for (const o of objects) {
    if (o.kind !== "Pod" && o.kind !== "ReplicaSet") continue;
    const m = metaOf(o);
    if (m.controller === null) continue;
    const key = refOf(m.controller.kind, m.namespace, m.controller.name);
    children.set(key, [...(children.get(key) ?? []), o]);
  }
  const podsOf = (kind: ExplainKind, o: Json, m: Meta): Json[] => {
    if (kind === "Pod") return [o];
    const own = (children.get(refOf(kind, m.namespace, m.name)) ?? []).filter((c) => c.kind === "Pod");
    if (kind !== "Deployment") return own;
    const sets = (children.get(refOf(kind, m.namespace, m.name)) ?? []).filter((c) => c.kind === "ReplicaSet");
    return sets.flatMap((rs) => (children.get(refOf("ReplicaSet", m.namespace, metaOf(rs).name)) ?? []).filter((c) => c.kind === "Pod"));
  };

  const notes: string[] = [];
  if (!opts.webhookConfigsListed) {
    notes.push(
      `The webhook configurations could not be read${opts.webhookConfigsError ? ` (${opts.webhookConfigsError})` : ""}: whether the API server calls this injector is inferred from the namespace labels (istio-injection, ${Label.Revision}) and the pod's ${Label.Inject} label; other injectors are not seen. Grant list on mutatingwebhookconfigurations for the full answer.`,
    );
  }
  if (opts.servedCa === undefined && opts.webhookConfigsListed) notes.push("The caBundle of our webhooks was not checked against the serving CA (give --ca, or ask a running injector's GET /explain).");

  const explained = targetsOf(objects, target, listed).map(({ o, kind, m }): ExplainedObject => {
    const ref = refOf(kind, m.namespace, m.name);
    const nsLabels = namespaces.get(m.namespace) ?? {};
    const pod = podAsCreated(o, kind, m);
    const userInfo = { username: POD_CREATOR[kind] };
    const webhooks = opts.webhookConfigsListed ? matchWebhooks(configs, { object: pod, namespace: { name: m.namespace, labels: nsLabels }, userInfo }) : [];
    const injectors = webhooks.filter((w) => w.called).flatMap((w) => {
      const whose = injectorKind(w, service);
      return whose === null ? [] : [`${w.configuration}/${w.webhook} (${whose})`];
    });
    const running = podsOf(kind, o, m);
    const findings: Finding[] = [...(findingsOf.get(ref) ?? [])];
    for (const p of kind === "Pod" ? [] : running) findings.push(...(findingsOf.get(refOf("Pod", m.namespace, metaOf(p).name)) ?? []));
    const conflict = injectorConflict(webhooks, service);
    if (conflict !== null) findings.push(conflictFinding(ref, conflict));

    const verdict = judge(pod, kind, m, webhooks, nsLabels, opts);
    if (verdict.reasons.some((r) => r.code === ReasonCode.PodSecurityConflict) && (verdict.decision === "inject" || verdict.decision === "already_injected")) {
      const enforce = lookup(nsLabels, POD_SECURITY_ENFORCE_LABEL) ?? "";
      findings.push({
        code: FindingCode.PodSecurityConflict,
        severity: FINDING_SEVERITY.podsecurity_conflict,
        object: ref,
        message: `New pods would be injected with istio-init (NET_ADMIN, root), which namespace ${m.namespace}'s Pod Security level "${enforce}" rejects: they would not be created.`,
        fix: PODSECURITY_FIX,
      });
    }
    const pods = running.flatMap((p): PodSidecar[] => {
      try {
        assertPodShape(p);
      } catch {
        return [];
      }
      const state = sidecarState(p as unknown as Pod, t);
      const name = metaOf(p).name;
      if (!state.injected) return [{ name, sidecar: "none", detail: "no sidecar of ours" }];
      if (state.stale.length > 0) return [{ name, sidecar: "stale", detail: `injected with ${state.stale.join(" and ")}` }];
      return [{ name, sidecar: "current", detail: `injected with template ${t.hash}` }];
    });
    return {
      object: ref,
      kind,
      namespace: m.namespace,
      name: m.name,
      judged: kind === "Pod" ? "pod spec" : "pod template",
      webhooks,
      injectors,
      ...verdict,
      pods,
      findings,
    };
  });

  const allFindings = [...explained.flatMap((e) => e.findings), ...general];
  const decisions: Partial<Record<ExplainDecision, number>> = {};
  for (const e of explained) decisions[e.decision] = (decisions[e.decision] ?? 0) + 1;
  const pods = { current: 0, stale: 0, none: 0 };
  for (const p of explained.flatMap((e) => e.pods)) pods[p.sidecar]++;
  const bySeverity = Object.fromEntries(Severities.map((s) => [s, allFindings.filter((f) => f.severity === s).length])) as Record<Severity, number>;
  const scope =
    target.kind !== undefined
      ? `${target.kind.toLowerCase()}/${target.name} in namespace ${target.namespace}`
      : target.namespace === null
        ? "all namespaces"
        : `namespace ${target.namespace}`;
  return { scope, summary: { objects: explained.length, decisions, pods, findings: bySeverity }, objects: explained, findings: general, notes };
}

type Verdict = Pick<ExplainedObject, "decision" | "reasons" | "warnings" | "error">;

const brief = (rs: readonly Reason[]) => rs.map((r) => ({ code: r.code, message: r.message }));

/** Would the API server call us, and if so what would our pipeline decide? */
function judge(pod: Json, kind: ExplainKind, m: Meta, webhooks: readonly WebhookMatch[], nsLabels: Record<string, string>, opts: ExplainOptions): Verdict {
  const t = opts.context.template;
  const rejectedBy = webhooks.find((w) => w.code === WebhookMatchCode.MatchConditionError && w.failurePolicy === "Fail");
  if (rejectedBy !== undefined) {
    const message = `The API server would reject the pod: webhook ${rejectedBy.configuration}/${rejectedBy.webhook}: ${rejectedBy.message}.`;
    return { decision: "rejected", reasons: [], warnings: [], error: { code: "MATCH_CONDITION_ERROR", message, problems: [message] } };
  }
  const ours = webhooks.filter((w) => injectorKind(w, t.config.service) === "this injector");
  let called: boolean;
  let why: string;
  let code: ReasonCode = ReasonCode.WebhookNotCalled;
  if (opts.webhookConfigsListed) {
    called = ours.some((w) => w.called);
    const podRules = ours.filter((w) => w.code !== WebhookMatchCode.RulesDoNotMatch);
    why =
      ours.length === 0
        ? `No MutatingWebhookConfiguration sends pods to service ${t.config.service.namespace}/${t.config.service.name}: the API server never calls this injector.`
        : `The API server would not call this injector: ${podRules.map((w) => `${w.webhook}: ${w.message}`).join("; ") || "none of its webhooks covers creating pods"}.`;
  } else {
    code = ReasonCode.NamespaceNotSelected;
    called = routedToInjector(nsLabels, t.config.revision, parseInjectValue(lookup(metaOf(pod).labels, Label.Inject) ?? "") === true);
    why = `Inferred from labels: namespace ${m.namespace} is not labelled istio-injection=enabled (or ${Label.Revision}=${t.config.revision}) and the pod is not labelled ${Label.Inject}=true.`;
  }
  if (!called) return { decision: "not_called", reasons: [{ code, message: why }], warnings: [] };
  try {
    const workload = kind === "Pod" ? undefined : { apiVersion: kind === "Job" ? "batch/v1" : "apps/v1", kind, name: m.name };
    const result = runInjection(
      { request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: m.namespace, object: pod, ...(workload && { workload }), namespaceLabels: nsLabels },
      opts.context,
    );
    const verdict = result.decision.verdict;
    return {
      decision: verdict === "not_applicable" ? "skip" : verdict,
      reasons: brief(result.decision.reasons),
      warnings: result.warnings,
    };
  } catch (err) {
    if (!(err instanceof InjectorError)) throw err;
    return { decision: "deny", reasons: [], warnings: [], error: { code: err.code, message: err.message, problems: err.problems } };
  }
}

/** Does any finding, on an object or in general, reach `level`? */
export function explainFailsAt(report: ExplainReport, level: Severity): boolean {
  const min = Severities.indexOf(level);
  return [...report.objects.flatMap((o) => o.findings), ...report.findings].some((f) => Severities.indexOf(f.severity) >= min);
}
