/**
 * Preview and explain: run every pod template in a set of manifests through the webhook's own
 * pipeline (runInjection) and report, per object, the decision with every reason, the warnings,
 * the patch (with paths under the object's pod template), the mutated object and a unified diff.
 * Pure apart from the clock-free YAML and diff rendering; no side effects.
 */
import { Label } from "../config/config.js";
import { InjectorError } from "../errors.js";
import { type Operation, applyPatchTo } from "../injection/patch.js";
import { type InjectionContext, runInjection } from "../injection/pipeline.js";
import { assertNotTooDeep } from "../injection/pod.js";
import { lookup, podDisplayName } from "../injection/pod.js";
import { type Reason, ReasonCode, reason } from "../injection/reasons.js";
import type { InputDocument, InputObject } from "./documents.js";
import { unifiedDiff } from "./line-diff.js";
import { toYamlText } from "./yaml-text.js";
import { isObject } from "../json-values.js";

/** What the API server would tell the webhook: the namespace and, optionally, its labels. */
export interface PreviewParams {
  readonly namespace?: string | undefined;
  /** When given, the namespaceSelector outcome is part of the answer. */
  readonly namespaceLabels?: Readonly<Record<string, string>> | undefined;
}

export type PreviewDecision = "inject" | "skip" | "already_injected" | "not_applicable" | "deny";

export interface ObjectPreview {
  readonly where: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly decision: PreviewDecision;
  readonly reasons: readonly Reason[];
  readonly warnings: readonly string[];
  /** Why the webhook would refuse the pod (decision "deny"). */
  readonly error?: { readonly code: string; readonly status: number; readonly message: string; readonly problems: readonly string[] };
  /** RFC 6902 operations on the object as given (paths under its pod template). */
  readonly patch: readonly Operation[];
  /** The object after injection (the object as given when nothing changes). */
  readonly object: unknown;
  /** Unified diff of the object before and after, as YAML. */
  readonly diff: string;
}

/** The label on a namespace that the webhook's namespaceSelector matches. */
export const NAMESPACE_INJECTION_LABEL = "istio-injection";


function at(object: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  let cur: unknown = object;
  for (const key of path) cur = (cur as Record<string, unknown>)[key];
  return cur as Record<string, unknown>;
}

function namespaceOf(input: InputObject, params: PreviewParams): string {
  if (params.namespace) return params.namespace;
  if (input.reviewNamespace) return input.reviewNamespace;
  const meta = isObject(input.object.metadata) ? input.object.metadata : {};
  return typeof meta.namespace === "string" && meta.namespace !== "" ? meta.namespace : "default";
}

/**
 * Would the API server call the webhook at all? Only when namespace labels are given: the
 * namespace is labelled istio-injection=enabled, or it has no such label and the pod opts in.
 */
function selectorSkip(template: Record<string, unknown>, namespace: string, params: PreviewParams): Reason | null {
  const labels = params.namespaceLabels;
  if (labels === undefined) return null;
  const nsValue = lookup(labels as Record<string, string>, NAMESPACE_INJECTION_LABEL);
  if (nsValue === "enabled") return null;
  const meta = isObject(template.metadata) ? template.metadata : {};
  const podOptIn = isObject(meta.labels) && meta.labels[Label.Inject] === "true";
  if (nsValue === undefined && podOptIn) return null;
  return reason(
    ReasonCode.NamespaceNotSelected,
    nsValue === undefined
      ? `Namespace ${namespace} is not labelled ${NAMESPACE_INJECTION_LABEL}=enabled and the pod is not labelled ${Label.Inject}=true: the API server would never call the injector.`
      : `Namespace ${namespace} is labelled ${NAMESPACE_INJECTION_LABEL}=${nsValue}: the API server would never call the injector.`,
  );
}

/**
 * An object's YAML text, written once: a preview's objects are never changed after they are built,
 * and the diff and the yaml output both need the injected object's text.
 */
const yamlTexts = new WeakMap<object, string>();
export function yamlOf(value: unknown): string {
  if (typeof value !== "object" || value === null) return toYamlText(value);
  const known = yamlTexts.get(value);
  if (known !== undefined) return known;
  const text = toYamlText(value);
  yamlTexts.set(value, text);
  return text;
}

/** Unified diff of two objects rendered as YAML. */
export function yamlDiff(label: string, before: unknown, after: unknown): string {
  return unifiedDiff(label, yamlOf(before), yamlOf(after), "given", "injected");
}

function previewObject(input: InputObject, ctx: InjectionContext, params: PreviewParams): ObjectPreview {
  const { object } = input;
  const kind = typeof object.kind === "string" ? object.kind : "<unknown kind>";
  const name = podDisplayName(isObject(object.metadata) ? { metadata: object.metadata } : undefined);
  const namespace = namespaceOf(input, params);
  const base = { where: input.where, kind, name, namespace };
  const unchanged = { patch: [], object, diff: "" };
  if (input.templatePath === null) {
    const r = reason(ReasonCode.NotAPod, `The object is a ${kind}, which has no pod template to inject.`);
    return { ...base, ...unchanged, decision: "not_applicable", reasons: [r], warnings: [] };
  }
  const template = at(object, input.templatePath);
  const skip = selectorSkip(template, namespace, params);
  // The webhook would not be called, so it would return no warnings either.
  if (skip !== null) return { ...base, ...unchanged, decision: "skip", reasons: [skip], warnings: [] };

  const workload =
    kind === "Pod" ? undefined : { apiVersion: typeof object.apiVersion === "string" ? object.apiVersion : "v1", kind, name };
  try {
    // The preview copies, patches and diffs the whole object: refuse what nests too deep to walk.
    assertNotTooDeep(template);
    const result = runInjection(
      {
        request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } },
        namespace,
        object: template,
        ...(workload && { workload }),
        namespaceLabels: params.namespaceLabels,
      },
      ctx,
    );
    const prefix = input.templatePath.length === 0 ? "" : `/${input.templatePath.join("/")}`;
    const patch = result.patch.map((op) => ({ ...op, path: `${prefix}${op.path}` }) as Operation);
    // As the pipeline builds its own mutated pod: the object is copied, the operations' values are
    // placed as they are (the pipeline never adds into a value it added).
    const mutated = applyPatchTo(object, patch);
    // The diff is written when it is read: the yaml and patch outputs never read it.
    let diff: string | undefined;
    return {
      ...base,
      decision: result.decision.verdict,
      reasons: result.decision.reasons,
      warnings: result.warnings,
      patch,
      object: mutated,
      get diff() {
        diff ??= patch.length === 0 ? "" : yamlDiff(`${kind}/${name}`, object, mutated);
        return diff;
      },
    };
  } catch (err) {
    if (!(err instanceof InjectorError)) throw err;
    return {
      ...base,
      ...unchanged,
      decision: "deny",
      reasons: [],
      warnings: [],
      error: { code: err.code, status: err.status, message: err.message, problems: err.problems },
    };
  }
}

/**
 * Preview every object of every document, in order, one at a time: a caller that writes each
 * preview as it comes holds one object's preview at once, not the whole manifest's.
 */
export function* previewEach(docs: readonly InputDocument[], ctx: InjectionContext, params: PreviewParams): Generator<ObjectPreview> {
  for (const d of docs) for (const o of d.objects) yield previewObject(o, ctx, params);
}

/** Preview every object of every document, in order. */
export function previewDocuments(docs: readonly InputDocument[], ctx: InjectionContext, params: PreviewParams): ObjectPreview[] {
  return [...previewEach(docs, ctx, params)];
}
