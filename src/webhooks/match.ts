/**
 * Which mutating webhooks the API server would call for a new pod, in the order it calls them,
 * and why each one is or is not called: the first of its rules, namespaceSelector,
 * objectSelector and matchConditions (CEL, evaluated with a CEL interpreter on the variables the
 * API server gives: object, oldObject, request, namespaceObject) that keeps the pod out. Pure: the
 * webhook configurations and the namespace come in as plain JSON.
 *
 * The API server's order: configurations sorted by name, then each configuration's webhooks in
 * the order they are listed; for each webhook, rules, then namespaceSelector, then
 * objectSelector, then matchConditions (all must be true; an expression that fails to evaluate
 * skips the webhook under failurePolicy Ignore and rejects the request under Fail).
 */
import { celEnv, parse, plan } from "@bufbuild/cel";
import type { LabelSelector } from "../config/config.js";
import { isObject } from "../json-values.js";
import { unmatchedTerm } from "../injection/selector.js";
import { remember } from "../memo.js";

type Json = Record<string, unknown>;

/** Why a webhook is or is not called: stable codes (log fields, findings, JSON output). */
export const WebhookMatchCode = {
  Called: "called",
  RulesDoNotMatch: "rules_do_not_match",
  NamespaceSelectorExcludes: "namespace_selector_excludes",
  ObjectSelectorExcludes: "object_selector_excludes",
  MatchConditionFalse: "match_condition_false",
  MatchConditionError: "match_condition_error",
} as const;
export type WebhookMatchCode = (typeof WebhookMatchCode)[keyof typeof WebhookMatchCode];

export interface WebhookMatch {
  readonly configuration: string;
  readonly webhook: string;
  /** Whether the API server calls this webhook for the pod (false also when a condition errs). */
  readonly called: boolean;
  readonly code: WebhookMatchCode;
  /** One sentence: what matched, or the term or expression that kept the pod out. */
  readonly message: string;
  readonly failurePolicy: "Fail" | "Ignore";
  /** Where the call goes: `service <ns>/<name>:<port><path>` or the URL. */
  readonly target: string;
  /** The Service called, when the webhook calls one. */
  readonly service: { readonly namespace: string; readonly name: string } | null;
}

export interface PodRequest {
  /** The pod as it would be created (wire JSON). */
  readonly object: Json;
  readonly namespace: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
  /** Who creates it (the replicaset controller for a Deployment's pods). */
  readonly userInfo?: Json;
}

/** The label the API server sets on every namespace, which namespaceSelectors can use. */
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

const listed = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** Whether one of the webhook's rules covers a pod CREATE (core group, v1, pods, namespaced). */
function rulesMatchPodCreate(rules: unknown): boolean {
  if (!Array.isArray(rules)) return false;
  return rules.filter(isObject).some((r) => {
    const any = (values: string[], wanted: string) => values.includes("*") || values.includes(wanted);
    const scope = typeof r.scope === "string" ? r.scope : "*";
    return (
      any(listed(r.operations), "CREATE") &&
      any(listed(r.apiGroups), "") &&
      any(listed(r.apiVersions), "v1") &&
      (listed(r.resources).some((res) => res === "pods" || res === "*" || res === "*/*")) &&
      (scope === "*" || scope === "Namespaced")
    );
  });
}

type Program = (vars: Record<string, unknown>) => unknown;

/** Planned expressions: the same few matchConditions are evaluated for every pod of an audit or explain -A. */
const programs = new Map<string, Program>();
const MAX_PROGRAMS = 512;

/** Evaluate a CEL expression: its value, or the Error that parsing or evaluating it gave. */
function evaluate(expression: string, vars: Record<string, unknown>): unknown {
  let program = programs.get(expression);
  if (program === undefined) {
    try {
      program = plan(celEnv(), parse(expression)) as Program;
    } catch (err) {
      const failure = err instanceof Error ? err : new Error(String(err));
      program = () => failure;
    }
    remember(programs, expression, program, MAX_PROGRAMS);
  }
  try {
    return program(vars);
  } catch (err) {
    return err;
  }
}

/** JSON as CEL values: objects become maps, so `has()`, `in` and field selection work as on the API server. */
function toCel(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(toCel);
  return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
}

function serviceOf(w: Json): WebhookMatch["service"] {
  const c = isObject(w.clientConfig) ? w.clientConfig : {};
  const s = isObject(c.service) ? c.service : null;
  return s && typeof s.namespace === "string" && typeof s.name === "string" ? { namespace: s.namespace, name: s.name } : null;
}

function targetOf(w: Json): string {
  const c = isObject(w.clientConfig) ? w.clientConfig : {};
  if (typeof c.url === "string") return c.url;
  const s = isObject(c.service) ? c.service : {};
  return `service ${String(s.namespace ?? "?")}/${String(s.name ?? "?")}:${typeof s.port === "number" ? s.port : 443}${typeof s.path === "string" ? s.path : ""}`;
}

/** The variables the API server gives matchConditions for a pod CREATE. */
function celVariables(req: PodRequest): Record<string, unknown> {
  const meta = isObject(req.object.metadata) ? req.object.metadata : {};
  const request = {
    kind: { group: "", version: "v1", kind: "Pod" },
    resource: { group: "", version: "v1", resource: "pods" },
    requestKind: { group: "", version: "v1", kind: "Pod" },
    requestResource: { group: "", version: "v1", resource: "pods" },
    name: typeof meta.name === "string" ? meta.name : "",
    namespace: req.namespace.name,
    operation: "CREATE",
    userInfo: req.userInfo ?? { username: "" },
    dryRun: false,
    options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
  };
  const namespaceObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: req.namespace.name, labels: req.namespace.labels } };
  return { object: toCel(req.object), oldObject: null, request: toCel(request), namespaceObject: toCel(namespaceObject) };
}

function judge(configuration: string, w: Json, req: PodRequest, podLabels: Readonly<Record<string, string>>, nsLabels: Readonly<Record<string, string>>): WebhookMatch {
  const webhook = typeof w.name === "string" ? w.name : "<unnamed>";
  const failurePolicy = w.failurePolicy === "Ignore" ? "Ignore" : "Fail";
  const base = { configuration, webhook, failurePolicy, target: targetOf(w), service: serviceOf(w) } as const;
  const notCalled = (code: WebhookMatchCode, message: string): WebhookMatch => ({ ...base, called: false, code, message });
  if (!rulesMatchPodCreate(w.rules)) return notCalled(WebhookMatchCode.RulesDoNotMatch, "its rules do not cover creating pods");
  const nsTerm = unmatchedTerm((isObject(w.namespaceSelector) ? w.namespaceSelector : {}) as LabelSelector, nsLabels);
  if (nsTerm !== null) return notCalled(WebhookMatchCode.NamespaceSelectorExcludes, `its namespaceSelector term ${nsTerm} excludes namespace ${req.namespace.name}`);
  const objTerm = unmatchedTerm((isObject(w.objectSelector) ? w.objectSelector : {}) as LabelSelector, podLabels);
  if (objTerm !== null) return notCalled(WebhookMatchCode.ObjectSelectorExcludes, `its objectSelector term ${objTerm} excludes the pod`);
  const conditions = Array.isArray(w.matchConditions) ? w.matchConditions.filter(isObject) : [];
  if (conditions.length > 0) {
    const vars = celVariables(req);
    for (const c of conditions) {
      const name = typeof c.name === "string" ? c.name : "<unnamed>";
      const expression = typeof c.expression === "string" ? c.expression : "";
      const result = evaluate(expression, vars);
      if (result === true) continue;
      if (result === false) return notCalled(WebhookMatchCode.MatchConditionFalse, `its matchCondition ${name} (${expression}) is false for the pod`);
      const why = result instanceof Error ? result.message : `it gave ${String(result)}, not a boolean`;
      const outcome = failurePolicy === "Fail" ? "the API server would reject the pod" : "the webhook is skipped";
      return notCalled(WebhookMatchCode.MatchConditionError, `its matchCondition ${name} (${expression}) cannot be evaluated (${why}); with failurePolicy ${failurePolicy} ${outcome}`);
    }
  }
  const via = conditions.length > 0 ? `, and its ${conditions.length} matchCondition${conditions.length === 1 ? "" : "s"} hold` : "";
  return { ...base, called: true, code: WebhookMatchCode.Called, message: `its rules, namespaceSelector and objectSelector match${via}` };
}

/** Every webhook of every MutatingWebhookConfiguration, judged for the pod, in the API server's calling order. */
export function matchWebhooks(configurations: readonly Json[], req: PodRequest): WebhookMatch[] {
  const meta = isObject(req.object.metadata) ? req.object.metadata : {};
  const podLabels = (isObject(meta.labels) ? meta.labels : {}) as Record<string, string>;
  const nsLabels = { ...req.namespace.labels, [NAMESPACE_NAME_LABEL]: req.namespace.name };
  const sorted = configurations
    .filter((c) => c.kind === undefined || c.kind === "MutatingWebhookConfiguration")
    .map((c) => ({ name: isObject(c.metadata) && typeof c.metadata.name === "string" ? c.metadata.name : "", webhooks: Array.isArray(c.webhooks) ? c.webhooks.filter(isObject) : [] }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sorted.flatMap((c) => c.webhooks.map((w) => judge(c.name, w, req, podLabels, nsLabels)));
}

/** Who injects a sidecar: this injector, another copy of ours (another revision), or istiod. */
export type InjectorKind = "this injector" | "another sidecar-injector" | "istiod";

/**
 * Whether a webhook injects a mesh sidecar, and whose: ours by its Service, another of ours by our
 * webhook names (`*.sidecar-injector.io`), istiod's by Istio's (`*.sidecar-injector.istio.io`).
 */
export function injectorKind(m: WebhookMatch, ours: { readonly namespace: string; readonly name: string }): InjectorKind | null {
  if (m.service?.namespace === ours.namespace && m.service.name === ours.name) return "this injector";
  if (m.webhook.endsWith(".sidecar-injector.istio.io")) return "istiod";
  if (m.webhook.endsWith(".sidecar-injector.io")) return "another sidecar-injector";
  return null;
}

/**
 * When the API server would send one new pod to two or more sidecar injectors (ours and istiod's
 * during a migration, or two of our revisions), each would add istio-proxy: the sentence naming
 * them, or null when at most one injector is called.
 */
export function injectorConflict(matches: readonly WebhookMatch[], ours: { readonly namespace: string; readonly name: string }): string | null {
  const injectors = matches.filter((m) => m.called).flatMap((m) => {
    const kind = injectorKind(m, ours);
    return kind === null ? [] : [`${m.configuration}/${m.webhook} (${kind})`];
  });
  return injectors.length > 1 ? `new pods would be sent to ${injectors.length} sidecar injectors, in this order: ${injectors.join(", ")}; each adds istio-proxy` : null;
}
