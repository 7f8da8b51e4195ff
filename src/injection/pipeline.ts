/**
 * The one injection code path: applicability → shape check → decide → validate overrides →
 * render → inject → diff. The webhook handler and the golden tests call exactly this function (and
 * so will the preview endpoint, the CLI and the audit); none of them re-implements a step.
 * Pure: throws typed errors (InvalidPodError, InvalidAnnotationError) and never logs.
 */
import { Annotation } from "../config/config.js";
import { withProps } from "../json-values.js";
import { InvalidAnnotationError } from "../errors.js";
import { checkUserVolumes, readOverrides } from "./annotations.js";
import { type InjectionDecision, type RequestFacts, checkApplicability, decide } from "./decision.js";
import { multusNetworksWarning } from "./multus.js";
import { constructPatch } from "./build-patch.js";
import { injectPod } from "./inject.js";
import { type Operation, applyPatchTo, createPatch } from "./patch.js";
import { ELIDED, type Pod, assertNotTooDeep, assertPodShape } from "./pod.js";
import { type Reason, ReasonCode, WARN_ON_SKIP, reason } from "./reasons.js";
import { userInitOf, userProxyOf } from "./proxy-overrides.js";
import { interceptionOf, renderSidecar, templatesOf } from "./render.js";
import { BuiltinTemplate } from "./templates.js";
import type { InjectionTemplate } from "./template.js";
import { type WorkloadRef, isJobPod, workloadOf } from "./workload.js";

export interface InjectionContext {
  readonly template: InjectionTemplate;
  /**
   * Whether the cluster runs native sidecars (Kubernetes >= 1.29), as learned at startup;
   * undefined when unknown (no cluster reachable), which `nativeSidecars: auto` treats as off.
   */
  readonly clusterSupportsNativeSidecars: boolean | undefined;
  /** Namespace labels from a watch-backed cache, when a cluster is configured (never an API call). */
  readonly namespaceLabels?: (namespace: string) => Readonly<Record<string, string>> | undefined;
}

export interface InjectionInput {
  readonly request: RequestFacts;
  /** The request's namespace (the pod's own may be empty on CREATE). */
  readonly namespace: string;
  readonly object: unknown;
  /**
   * The workload the pod will belong to, when the caller knows it (a Deployment's pod template in
   * a preview); otherwise it is derived from the pod's owner references.
   */
  readonly workload?: WorkloadRef;
  /** The namespace's labels, when the caller knows them (preview, explain). */
  readonly namespaceLabels?: Readonly<Record<string, string>> | undefined;
}

/** The namespace label that sets the enforced Pod Security Standard. */
export const POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

export interface InjectionResult {
  readonly decision: InjectionDecision;
  /**
   * The pod after injection (the pod as received when nothing is injected; absent when not a Pod).
   * Built on first read by applying the patch: the webhook never reads it.
   */
  readonly mutated?: Pod;
  readonly patch: readonly Operation[];
  /** Short sentences for the user (≤ 120 characters each). */
  readonly warnings: readonly string[];
  /** Decision, reason codes and template hash, for the API server's audit log. */
  readonly auditAnnotations: Readonly<Record<string, string>>;
  /**
   * Report-only (namespace labelled istio-injection=audit, or policy: audit): the patch is what
   * would be applied; the webhook does not send it.
   */
  readonly reportOnly: boolean;
}

/** The namespace label value that turns on report-only mode. */
export const REPORT_ONLY_LABEL_VALUE = "audit";

/** Maximum length of one admission warning (Kubernetes recommends ≤ 120 characters). */
export const MAX_WARNING_LENGTH = 120;

export function toWarning(text: string): string {
  return text.length <= MAX_WARNING_LENGTH ? text : `${text.slice(0, MAX_WARNING_LENGTH - 3)}...`;
}

function warningsOf(reasons: readonly Reason[]): string[] {
  return reasons
    .filter((r) => r.effect === "warn" || (r.effect === "skip" && WARN_ON_SKIP.has(r.code)))
    .map((r) => toWarning(r.effect === "skip" ? `sidecar not injected: ${r.message}` : r.message));
}

/** Resolve native-sidecar mode: the pod's annotation, else config, else (auto) the cluster. */
export function resolveNative(ctx: InjectionContext, podOverride: boolean | undefined): boolean {
  if (podOverride !== undefined) return podOverride;
  const mode = ctx.template.config.nativeSidecars;
  if (mode === "true") return true;
  if (mode === "false") return false;
  return ctx.clusterSupportsNativeSidecars === true;
}

/**
 * The pod as received, minus managedFields (large, noisy, never ours to patch; Istio drops it too).
 * managedFields holding ELIDED (cut by the admission route before parsing) is read as absent: the
 * pod is used as it is, not copied (nothing reads managedFields, and the patch never touches it).
 * A pod without metadata is read as having empty metadata; the patch then adds /metadata whole.
 */
function withoutManagedFields(pod: Pod): { original: Pod; readable: Pod } {
  const meta = pod.metadata as Pod["metadata"] | undefined | null;
  if (meta === undefined || meta === null) return { original: pod, readable: { ...pod, metadata: {} } };
  if (!Object.hasOwn(meta, "managedFields") || meta.managedFields === ELIDED) return { original: pod, readable: pod };
  const { managedFields: _dropped, ...metadata } = meta;
  const original = { ...pod, metadata };
  return { original, readable: original };
}

function auditOf(decision: InjectionDecision, templateHash: string): Record<string, string> {
  const codes = decision.reasons.map((r) => r.code).join(",");
  const out: Record<string, string> = { decision: decision.verdict, reasons: codes };
  if (decision.verdict === "inject") out["template-hash"] = templateHash;
  if (decision.verdict === "already_injected" && decision.previous?.templateHash) {
    out["template-hash"] = decision.previous.templateHash;
  }
  return out;
}

/** Run the whole pipeline for one request. */
export function runInjection(input: InjectionInput, ctx: InjectionContext): InjectionResult {
  const notOurs = checkApplicability(input.request);
  if (notOurs !== null) {
    const decision: InjectionDecision = { verdict: "not_applicable", reasons: [notOurs], decidedBy: "request", previous: null };
    return { decision, patch: [], warnings: [], auditAnnotations: {}, reportOnly: false };
  }
  const object = input.object;
  assertPodShape(object);
  const { original, readable } = withoutManagedFields(object);
  const t = ctx.template;
  let decision = decide(readable, input.namespace, t.policy);
  if (decision.verdict !== "inject") {
    return {
      decision,
      mutated: original,
      patch: [],
      warnings: warningsOf(decision.reasons),
      auditAnnotations: auditOf(decision, t.hash),
      reportOnly: false,
    };
  }
  const overrides = readOverrides(readable.metadata.annotations, t.templateNames);
  if (overrides.userVolumes || overrides.userVolumeMounts) {
    const ours = new Set(decision.previous?.volumes ?? []);
    const volumeProblems = checkUserVolumes(
      overrides,
      (readable.spec.volumes ?? []).map((v) => v.name).filter((n) => !ours.has(n)),
      t.policy.volumeNames,
    );
    if (volumeProblems.length > 0) throw new InvalidAnnotationError(volumeProblems);
  }
  if (overrides.ignored) {
    decision = { ...decision, reasons: [...decision.reasons, ...overrides.ignored.map((m) => reason(ReasonCode.AnnotationIgnored, m))] };
  }
  const native = resolveNative(ctx, overrides.nativeSidecar);
  // Only the sidecar template runs as a sidecar and captures traffic with a privileged init
  // container (not with NONE); the Job and Pod Security warnings are about it.
  const sidecarTemplate = templatesOf(t, overrides).includes(BuiltinTemplate.Sidecar);
  const capturesTraffic = sidecarTemplate && interceptionOf(t, overrides) !== "NONE";
  const workload = input.workload ?? workloadOf(readable);
  const runsToCompletion = isJobPod(readable) || workload.kind === "Job" || workload.kind === "CronJob";
  if (!native && runsToCompletion && sidecarTemplate) {
    const job = workload;
    decision = {
      ...decision,
      reasons: [
        ...decision.reasons,
        reason(
          ReasonCode.JobWithoutNativeSidecar,
          `${job.kind} ${job.name}: the proxy keeps the pod running after the job ends; set ${Annotation.NativeSidecar}=true.`,
        ),
      ],
    };
  }
  const enforce = input.namespaceLabels?.[POD_SECURITY_ENFORCE_LABEL];
  if (capturesTraffic && !t.config.cni && (enforce === "baseline" || enforce === "restricted")) {
    decision = {
      ...decision,
      reasons: [
        ...decision.reasons,
        reason(
          ReasonCode.PodSecurityConflict,
          `Namespace ${input.namespace} enforces Pod Security "${enforce}", which rejects istio-init (NET_ADMIN, root); use CNI mode.`,
        ),
      ],
    };
  }
  const multus = sidecarTemplate ? multusNetworksWarning(t.config, readable.metadata.annotations) : null;
  if (multus !== null) decision = { ...decision, reasons: [...decision.reasons, multus] };
  const userProxy = userProxyOf(readable, decision.previous);
  const userInit = userInitOf(readable, decision.previous);
  const rendered = renderSidecar(t, { pod: readable, namespace: input.namespace, overrides, native, workload, userProxy, userInit });
  // A first injection's patch is built directly; re-injections, overlay templates and a user's
  // istio-proxy go through the general diff, which walks the whole pod (hence the full depth check).
  let patch = decision.previous === null ? constructPatch(original, rendered) : null;
  let injected: Pod | undefined;
  if (patch === null) {
    assertNotTooDeep(readable);
    injected = injectPod(readable, rendered, decision.previous);
    patch = createPatch(original, injected);
  }
  const reportOnly = t.config.policy === "audit" || input.namespaceLabels?.["istio-injection"] === REPORT_ONLY_LABEL_VALUE;
  if (!reportOnly) {
    return new Injected(original, injected, { decision, patch, warnings: warningsOf(decision.reasons), auditAnnotations: auditOf(decision, t.hash), reportOnly });
  }
  const added = [...rendered.status.initContainers, ...rendered.status.containers].join(", ");
  const bytes = Buffer.byteLength(JSON.stringify(patch));
  decision = {
    ...decision,
    reasons: [
      ...decision.reasons,
      reason(ReasonCode.ReportOnly, `Report-only: would inject ${added} and ${rendered.volumes.length} volumes (${patch.length} operations, ${bytes} bytes).`),
    ],
  };
  return new Injected(original, injected, {
    decision,
    patch,
    warnings: warningsOf(decision.reasons),
    auditAnnotations: withProps(auditOf(decision, t.hash), { decision: "report_only", "would-inject": added, "patch-operations": String(patch.length), "patch-bytes": String(bytes) }),
    reportOnly,
  });
}

/**
 * The result of an injection. The injected pod is built on first read, by applying the patch to
 * the pod as received (the webhook never reads it). The getter lives on the class, not in a
 * closure per review: a closure over the pod kept each review's objects alive through two
 * young-generation collections, promoted to the old generation, in the benchmark's stream of pods.
 */
class Injected implements InjectionResult {
  readonly decision: InjectionDecision;
  readonly patch: readonly Operation[];
  readonly warnings: readonly string[];
  readonly auditAnnotations: Readonly<Record<string, string>>;
  readonly reportOnly: boolean;
  #original: Pod;
  #injected: Pod | undefined;

  constructor(original: Pod, injected: Pod | undefined, fields: Omit<InjectionResult, "mutated">) {
    this.decision = fields.decision;
    this.patch = fields.patch;
    this.warnings = fields.warnings;
    this.auditAnnotations = fields.auditAnnotations;
    this.reportOnly = fields.reportOnly;
    this.#original = original;
    this.#injected = injected;
  }

  get mutated(): Pod {
    this.#injected ??= applyPatchTo(this.#original, this.patch);
    return this.#injected;
  }
}

/** The namespace of a request: the request's own, else the object's. */
export function namespaceOf(requestNamespace: string | undefined, object: unknown): string {
  if (requestNamespace) return requestNamespace;
  const meta = (object as { metadata?: { namespace?: unknown } } | null)?.metadata;
  return typeof meta?.namespace === "string" ? meta.namespace : "";
}

