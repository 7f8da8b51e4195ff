/**
 * The policy audit: every pod of a cluster snapshot judged by the webhook's own decision code
 * against the current configuration, with findings as stable codes, each naming the object, a
 * sentence and the fix, and a restart plan for the workloads whose pods need new sidecars.
 * Pure: a list of Kubernetes objects (as JSON) in, a report out.
 */
import { Annotation, ContainerName, Label, type LabelSelector } from "../config/config.js";
import { InjectorError } from "../errors.js";
import { readOverrides } from "../injection/annotations.js";
import { decide } from "../injection/decision.js";
import { ReasonCode } from "../injection/reasons.js";
import { type Pod, assertPodShape, lookup } from "../injection/pod.js";
import { POD_SECURITY_ENFORCE_LABEL } from "../injection/pipeline.js";
import { readStatus } from "../injection/status.js";
import type { InjectionTemplate } from "../injection/template.js";
import { matchesSelector } from "../injection/selector.js";
import { inspectCertificates, readCertificates } from "../tls/pem.js";
import { checkWorkload } from "../injection/workload-check.js";
import { WORKLOAD_GROUPS } from "../injection/workload.js";
import { isObject } from "../json-values.js";
import { injectorConflict, matchWebhooks } from "../webhooks/match.js";

export const FindingCode = {
  MissingSidecar: "missing_sidecar",
  StaleSidecar: "stale_sidecar",
  UnexpectedSidecar: "unexpected_sidecar",
  InvalidAnnotation: "invalid_annotation",
  PodSecurityConflict: "podsecurity_conflict",
  OptOutInEnabledNamespace: "opt_out_in_enabled_namespace",
  WebhookConfig: "webhook_config",
  WebhookConflict: "webhook_conflict",
} as const;
export type FindingCode = (typeof FindingCode)[keyof typeof FindingCode];

export const Severities = ["info", "warning", "error"] as const;
export type Severity = (typeof Severities)[number];

export const FINDING_SEVERITY: Readonly<Record<FindingCode, Severity>> = {
  missing_sidecar: "error",
  stale_sidecar: "warning",
  unexpected_sidecar: "warning",
  invalid_annotation: "error",
  podsecurity_conflict: "error",
  opt_out_in_enabled_namespace: "info",
  webhook_config: "error",
  webhook_conflict: "error",
};

export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** `Pod/shop/web-7d9-x2`, `Deployment/shop/web`, `Namespace/shop`. */
  readonly object: string;
  readonly message: string;
  readonly fix: string;
}

export interface AuditReport {
  readonly summary: {
    readonly namespaces: number;
    readonly pods: number;
    readonly injected: number;
    readonly findings: Readonly<Record<FindingCode, number>>;
  };
  readonly findings: readonly Finding[];
  /** One command per workload whose pods need a restart, in order of first mention. */
  readonly restartPlan: readonly string[];
  /** With a workload in the restart plan: the command that carries the plan out safely (`rollout`). */
  readonly rollout?: string;
}

/** What the audit points to for its restart plan: the rollout, planned first, then one workload at a time. */
export const ROLLOUT_POINTER =
  "sidecar-injector rollout -A plans these restarts (nothing changes without --yes); with --yes it restarts one workload at a time, waits for each and checks its new pods, and stops at the first failure.";

type Json = Record<string, unknown>;


function metaOf(o: Json): { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; owners: Json[] } {
  const m = isObject(o.metadata) ? o.metadata : {};
  return {
    name: typeof m.name === "string" ? m.name : "<unnamed>",
    namespace: typeof m.namespace === "string" ? m.namespace : "",
    ...(isObject(m.labels) && { labels: m.labels as Record<string, string> }),
    ...(isObject(m.annotations) && { annotations: m.annotations as Record<string, string> }),
    owners: Array.isArray(m.ownerReferences) ? m.ownerReferences.filter(isObject) : [],
  };
}

/** The objects of a snapshot: a List (kubectl get -o json), a list of Lists, or plain objects. */
export function flattenObjects(values: readonly unknown[]): Json[] {
  const out: Json[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObject(v) && Array.isArray(v.items) && typeof v.kind === "string" && v.kind.endsWith("List")) v.items.forEach(visit);
    else if (isObject(v)) out.push(v);
  };
  values.forEach(visit);
  return out;
}

/** Is the namespace selected by the webhook's namespaceSelector for this revision? */
function namespaceEnabled(labels: Record<string, string> | undefined, revision: string): boolean {
  const injection = lookup(labels, "istio-injection");
  if (injection !== undefined) return injection === "enabled";
  return lookup(labels, Label.Revision) === revision;
}

/**
 * Whether the API server sends a namespace's pods to this injector, as the audit reads the labels:
 * the namespace is enabled, or it says nothing (no istio-injection) and the pod opts in by label.
 */
export function routedToInjector(nsLabels: Record<string, string> | undefined, revision: string, podOptsIn: boolean): boolean {
  return namespaceEnabled(nsLabels, revision) || (!lookup(nsLabels, "istio-injection") && podOptsIn);
}

/** How to inject in a namespace whose Pod Security level rejects istio-init. */
export const PODSECURITY_FIX = `Turn on CNI mode (cni: true), or label the namespace ${POD_SECURITY_ENFORCE_LABEL}=privileged.`;

export interface AuditOptions {
  /** The injector's own namespace and the ignore list come from the template's config. */
  readonly template: InjectionTemplate;
  /** The CA (PEM) the injector serves with, to check each webhook's caBundle; unchecked when absent. */
  readonly servedCa?: string | undefined;
  /** Whether the snapshot includes MutatingWebhookConfigurations (a missing one is then a finding). */
  readonly webhookConfigsListed?: boolean;
}

/** Objects in a stable order (kind, namespace, name), so a report does not depend on list order. */
function sorted(objects: readonly Json[]): Json[] {
  // Each key computed once (a cluster holds tens of thousands of objects), not per comparison.
  const keyed = objects.map((o) => {
    const m = isObject(o.metadata) ? o.metadata : {};
    return { o, key: `${String(o.kind)}\u0000${typeof m.namespace === "string" ? m.namespace : ""}\u0000${typeof m.name === "string" ? m.name : "<unnamed>"}` };
  });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.o);
}

export function auditCluster(input: readonly Json[], opts: AuditOptions): AuditReport {
  const objects = sorted(input);
  const t = opts.template;
  const config = t.config;
  const namespaces = new Map<string, Record<string, string> | undefined>();
  const byKey = new Map<string, Json>(); // `${kind}/${namespace}/${name}`
  for (const o of objects) {
    const m = metaOf(o);
    if (o.kind === "Namespace") namespaces.set(m.name, m.labels);
    if (typeof o.kind === "string") byKey.set(`${o.kind}/${m.namespace}/${m.name}`, o);
  }
  const findings: Finding[] = [];
  const plan: string[] = [];
  const planned = new Set<string>();
  const add = (code: FindingCode, object: string, message: string, fix: string): void => {
    findings.push({ code, severity: FINDING_SEVERITY[code], object, message, fix });
  };
  const restart = (pod: Json): string => {
    const cmd = restartCommand(pod, byKey);
    if (!planned.has(cmd)) {
      planned.add(cmd);
      plan.push(cmd);
    }
    return cmd;
  };

  // Namespaces: Pod Security levels that reject the classic init container.
  for (const [name, labels] of namespaces) {
    const enforce = lookup(labels, POD_SECURITY_ENFORCE_LABEL);
    if (!config.cni && namespaceEnabled(labels, config.revision) && (enforce === "baseline" || enforce === "restricted")) {
      add(
        FindingCode.PodSecurityConflict,
        `Namespace/${name}`,
        `Namespace ${name} is enabled for injection but enforces Pod Security "${enforce}", which rejects istio-init (NET_ADMIN, root).`,
        PODSECURITY_FIX,
      );
    }
  }

  // Workloads: invalid annotations on pod templates, found before any pod fails.
  for (const o of objects) {
    const kind = typeof o.kind === "string" ? o.kind : "";
    if (!Object.hasOwn(WORKLOAD_GROUPS, kind)) continue;
    const m = metaOf(o);
    const f = checkWorkload(kind, o, t.templateNames);
    for (const p of f.problems) {
      add(FindingCode.InvalidAnnotation, `${kind}/${m.namespace}/${m.name}`, p, "Fix the annotation on the pod template; new pods would be refused.");
    }
  }

  if (opts.webhookConfigsListed ?? objects.some((o) => o.kind === "MutatingWebhookConfiguration")) {
    for (const [object, message, fix] of checkWebhookConfigs(objects, config, opts.servedCa)) add(FindingCode.WebhookConfig, object, message, fix);
    for (const [object, message] of injectorConflicts(objects, namespaces, config.service)) findings.push(conflictFinding(object, message));
  }

  let podCount = 0;
  let injectedCount = 0;
  for (const o of objects) {
    if (o.kind !== "Pod") continue;
    // Finished or terminating pods will not run again: nothing to fix on them.
    const phase = isObject(o.status) ? o.status.phase : undefined;
    if (phase === "Succeeded" || phase === "Failed" || (isObject(o.metadata) && o.metadata.deletionTimestamp)) continue;
    try {
      assertPodShape(o); // a snapshot may be hand-edited: judge only pods the decision code can read
    } catch {
      continue;
    }
    podCount++;
    const pod = o as unknown as Pod;
    const m = metaOf(o);
    const ref = `Pod/${m.namespace}/${m.name}`;
    const nsLabels = namespaces.get(m.namespace);
    const enabled = namespaceEnabled(nsLabels, config.revision);
    const state = sidecarState(pod, t);
    const injected = state.injected;
    if (injected) injectedCount++;

    try {
      readOverrides(m.annotations, t.templateNames);
    } catch (err) {
      if (!(err instanceof InjectorError)) throw err;
      for (const p of err.problems) add(FindingCode.InvalidAnnotation, ref, p, "Fix the annotation; re-created pods would be refused.");
    }

    const decision = decide({ ...pod, metadata: pod.metadata ?? {} }, m.namespace, t.policy);
    // The pod's own opt-in/out, as the decision read it (label first, then annotation).
    const codes = new Set(decision.reasons.map((r) => r.code));
    const optedIn = codes.has(ReasonCode.PodLabelEnabled);
    const optedOut = codes.has(ReasonCode.PodLabelDisabled) || codes.has(ReasonCode.PodAnnotationDisabled);
    const routed = routedToInjector(nsLabels, config.revision, optedIn);
    const wanted = routed && (decision.verdict === "inject" || decision.verdict === "already_injected");

    if (enabled && optedOut) {
      add(FindingCode.OptOutInEnabledNamespace, ref, `The pod opts out of injection in namespace ${m.namespace}, which is enabled.`, "None needed if intended.");
    }
    if (!injected && wanted) {
      const cmd = restart(o);
      add(
        FindingCode.MissingSidecar,
        ref,
        `The pod should carry the sidecar (namespace ${m.namespace} is enabled and the pod does not opt out) but does not; it was probably created before.`,
        cmd,
      );
    } else if (injected && !wanted) {
      const why = !routed
        ? `namespace ${m.namespace} is not enabled for injection.`
        : decision.reasons
            .filter((r) => r.effect === "skip")
            .map((r) => `${r.message} (${r.code})`)
            .join(" ") || "the current policy would not inject it.";
      add(FindingCode.UnexpectedSidecar, ref, `The pod carries the sidecar, but ${why.charAt(0).toLowerCase()}${why.slice(1)}`, restart(o));
    } else if (injected && wanted && state.stale.length > 0) {
      add(FindingCode.StaleSidecar, ref, `The sidecar was injected with ${state.stale.join(" and ")}.`, restart(o));
    }
  }

  const counts = Object.fromEntries(Object.values(FindingCode).map((c) => [c, findings.filter((f) => f.code === c).length])) as Record<FindingCode, number>;
  return {
    summary: { namespaces: namespaces.size, pods: podCount, injected: injectedCount, findings: counts },
    findings,
    restartPlan: plan,
    ...(plan.some((c) => c.startsWith("kubectl rollout restart")) && { rollout: ROLLOUT_POINTER }),
  };
}

/** A running pod's sidecar: whether it carries ours, and what in it is older than the current configuration. */
export interface SidecarState {
  /** It carries istio-proxy and a status record we can read. */
  readonly injected: boolean;
  /** `template <hash> (current <hash>)`, `image <image> (current <image>)`: empty when current. */
  readonly stale: readonly string[];
}

export function sidecarState(pod: Pod, t: InjectionTemplate): SidecarState {
  const annotations = pod.metadata?.annotations;
  const status = readStatus(annotations);
  const containers = [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])];
  const proxy = containers.find((c) => c.name === ContainerName.Proxy);
  if (status === null || proxy === undefined) return { injected: false, stale: [] };
  const expectedImage = lookup(annotations, Annotation.ProxyImage) ?? t.config.sidecar.image;
  const stale: string[] = [];
  if (status.templateHash !== t.hash) stale.push(`template ${status.templateHash ?? "unknown"} (current ${t.hash})`);
  if (proxy.image !== expectedImage) stale.push(`image ${proxy.image ?? "unknown"} (current ${expectedImage})`);
  return { injected: true, stale };
}

/** The webhook_conflict finding for an object whose new pods `injectorConflict` found going to two injectors. */
export function conflictFinding(object: string, message: string): Finding {
  return {
    code: FindingCode.WebhookConflict,
    severity: FINDING_SEVERITY.webhook_conflict,
    object,
    message: `${message.charAt(0).toUpperCase()}${message.slice(1)}.`,
    fix: "Send each namespace to one injector: remove the other injector's namespace label (istio-injection, istio.io/rev), or delete its MutatingWebhookConfiguration once the migration is done.",
  };
}

/**
 * The MutatingWebhookConfigurations that send reviews to this injector's service, checked the way
 * a platform team would: it exists, its caBundle holds the served CA, its namespaceSelector keeps
 * kube-system and the injector's own namespace out, its timeout is at most 10 s, and an
 * objectSelector keeps the injector's own pods out.
 */
function checkWebhookConfigs(objects: readonly Json[], config: InjectionTemplate["config"], servedCa: string | undefined): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  const { name: service, namespace } = config.service;
  let found = 0;
  for (const o of objects) {
    if (o.kind !== "MutatingWebhookConfiguration" || !Array.isArray(o.webhooks)) continue;
    const mwc = metaOf(o).name;
    for (const w of o.webhooks.filter(isObject)) {
      const svc = isObject(w.clientConfig) && isObject(w.clientConfig.service) ? w.clientConfig.service : undefined;
      if (!svc || svc.name !== service || svc.namespace !== namespace) continue;
      found++;
      const ref = `MutatingWebhookConfiguration/${mwc}`;
      const hook = typeof w.name === "string" ? w.name : "<unnamed>";
      const bundle = isObject(w.clientConfig) && typeof w.clientConfig.caBundle === "string" ? w.clientConfig.caBundle : "";
      const inBundle = inspectCertificates(Buffer.from(bundle, "base64").toString("utf8"));
      if (inBundle.unreadable > 0) {
        out.push([ref, `Webhook ${hook}: ${inBundle.unreadable} certificate(s) of its caBundle cannot be read by the API server (each PEM block must begin and end on lines of its own).`, "Rewrite caBundle with every certificate block on its own lines, ending with a line break."]);
      }
      if (servedCa !== undefined) {
        if (!readCertificates(servedCa).every((c) => inBundle.certificates.includes(c))) {
          out.push([ref, `Webhook ${hook}: its caBundle does not hold the CA the injector serves with; the API server will refuse the connection.`, "Put the served CA (base64) in caBundle."]);
        }
      }
      const nsSelector = isObject(w.namespaceSelector) ? (w.namespaceSelector as LabelSelector) : {};
      const excludedByCondition = namespacesExcludedByMatchConditions(w.matchConditions);
      for (const ns of ["kube-system", namespace]) {
        if (!excludedByCondition.has(ns) && matchesSelector(nsSelector, { "kubernetes.io/metadata.name": ns })) {
          out.push([ref, `Webhook ${hook}: neither its namespaceSelector nor its matchConditions exclude namespace ${ns}.`, `Exclude it, e.g. kubernetes.io/metadata.name NotIn [kube-system, ${namespace}], or a matchCondition request.namespace != '${ns}'.`]);
        }
      }
      if (typeof w.timeoutSeconds === "number" && w.timeoutSeconds > 10) {
        out.push([ref, `Webhook ${hook}: timeoutSeconds is ${w.timeoutSeconds}; above 10 s a slow injector stalls every pod creation.`, "Set timeoutSeconds to 10 or less."]);
      }
      const objectSelector = isObject(w.objectSelector) ? (w.objectSelector as LabelSelector) : {};
      if (matchesSelector(objectSelector, { app: service, "app.kubernetes.io/name": service })) {
        out.push([ref, `Webhook ${hook}: no objectSelector keeps the injector's own pods (app=${service}) out; it could block its own restart.`, `Add an objectSelector excluding app=${service}.`]);
      }
    }
  }
  if (found === 0) {
    out.push([`Service/${namespace}/${service}`, `No MutatingWebhookConfiguration sends pods to service ${namespace}/${service}: nothing is injected.`, "Apply the webhook configuration (see docs/deploy.md)."]);
  }
  return out;
}

/** Workload kinds whose pod template new pods are made from (ReplicaSets of a Deployment are judged through it). */
const TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "ReplicationController"]);

/**
 * Each workload whose new pods the API server would send to two or more sidecar injectors (every
 * webhook judged as the API server judges it, see webhooks/match.ts), as [object, sentence].
 */
function injectorConflicts(objects: readonly Json[], namespaces: ReadonlyMap<string, Record<string, string> | undefined>, service: { name: string; namespace: string }): Array<[string, string]> {
  const configs = objects.filter((o) => o.kind === "MutatingWebhookConfiguration");
  if (configs.length === 0) return [];
  const out: Array<[string, string]> = [];
  for (const o of objects) {
    const kind = typeof o.kind === "string" ? o.kind : "";
    if (!TEMPLATE_KINDS.has(kind)) continue;
    const m = metaOf(o);
    if (kind === "ReplicaSet" && m.owners.some((r) => r.controller === true)) continue;
    const spec = isObject(o.spec) ? o.spec : {};
    const template = isObject(spec.template) ? spec.template : null;
    if (template === null) continue;
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { namespace: m.namespace, ...(isObject(template.metadata) ? template.metadata : {}) }, spec: template.spec ?? {} };
    const matches = matchWebhooks(configs, { object: pod, namespace: { name: m.namespace, labels: namespaces.get(m.namespace) ?? {} } });
    const conflict = injectorConflict(matches, service);
    if (conflict !== null) out.push([`${kind}/${m.namespace}/${m.name}`, conflict]);
  }
  return out;
}

/** Namespaces a webhook's matchConditions keep out with `request.namespace != '<ns>'` (the form our manifests use). */
function namespacesExcludedByMatchConditions(conditions: unknown): Set<string> {
  const out = new Set<string>();
  if (!Array.isArray(conditions)) return out;
  for (const c of conditions.filter(isObject)) {
    if (typeof c.expression !== "string") continue;
    const m = /^\s*request\.namespace\s*!=\s*(['"])([^'"]+)\1\s*$/.exec(c.expression);
    if (m?.[2]) out.add(m[2]);
  }
  return out;
}

/** The workload kinds `kubectl rollout restart` (and `sidecar-injector rollout`) can restart. */
export const RESTARTABLE_KINDS = ["Deployment", "StatefulSet", "DaemonSet"] as const;
export type RestartableKind = (typeof RESTARTABLE_KINDS)[number];

/** A pod's owner as the restart plan reads it. */
export type PodOwner =
  /** A Deployment (through its ReplicaSet), StatefulSet or DaemonSet: restarted as a whole. */
  | { readonly type: "workload"; readonly kind: RestartableKind; readonly namespace: string; readonly name: string }
  /** Another controller (a Job, a ReplicaSet of no Deployment, ...): its pods are not restarted. */
  | { readonly type: "other"; readonly kind: string; readonly namespace: string; readonly name: string }
  /** No owner: a bare pod. */
  | { readonly type: "none" };

/** Who makes a pod's replacement (`byKey`: the snapshot's objects by `${kind}/${namespace}/${name}`). */
export function podOwner(pod: Json, byKey: ReadonlyMap<string, Json>): PodOwner {
  const m = metaOf(pod);
  const owner = m.owners.find((o) => o.controller === true) ?? m.owners[0];
  const ns = m.namespace;
  if (!owner || typeof owner.kind !== "string" || typeof owner.name !== "string") return { type: "none" };
  if (owner.kind === "ReplicaSet") {
    const rs = byKey.get(`ReplicaSet/${ns}/${owner.name}`);
    const rsOwner = rs ? metaOf(rs).owners.find((o) => o.kind === "Deployment") : undefined;
    const hash = lookup(m.labels, Label.PodTemplateHash);
    const deployment = typeof rsOwner?.name === "string" ? rsOwner.name : hash && owner.name.endsWith(`-${hash}`) ? owner.name.slice(0, -hash.length - 1) : undefined;
    if (deployment) return { type: "workload", kind: "Deployment", namespace: ns, name: deployment };
  }
  if (owner.kind === "StatefulSet" || owner.kind === "DaemonSet") return { type: "workload", kind: owner.kind, namespace: ns, name: owner.name };
  return { type: "other", kind: owner.kind, namespace: ns, name: owner.name };
}

/** The command a person runs to re-create a pod that has no workload to restart. */
export function deletePodCommand(namespace: string, name: string): string {
  return `kubectl delete pod ${name} -n ${namespace}  # re-created by its owner, or re-create it yourself`;
}

/** The command that gives a pod's workload new pods. */
function restartCommand(pod: Json, byKey: ReadonlyMap<string, Json>): string {
  const owner = podOwner(pod, byKey);
  if (owner.type === "workload") return `kubectl rollout restart ${owner.kind.toLowerCase()}/${owner.name} -n ${owner.namespace}`;
  const m = metaOf(pod);
  return deletePodCommand(m.namespace, m.name);
}

/** Does any finding reach `level`? */
export function failsAt(report: AuditReport, level: Severity): boolean {
  const min = Severities.indexOf(level);
  return report.findings.some((f) => Severities.indexOf(f.severity) >= min);
}
