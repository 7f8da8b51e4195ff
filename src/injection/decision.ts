/**
 * "Should this pod get the sidecar?" — a pure function that returns every reason it found.
 *
 * Rules, in this fixed order (documented in docs/injection.md):
 *  0. applicability: not a Pod, not CREATE, or a subresource → not_applicable (allowed, no warning);
 *     nothing else is evaluated.
 *  1. namespace in the ignore list (config plus the injector's own namespace) → skip;
 *  2. spec.hostNetwork: true → skip;
 *  3. mirror pod (annotation kubernetes.io/config.mirror) → skip;
 *  4. label istio.io/rev naming another revision than this injector's → skip;
 *  5. opt-in/out: label sidecar.istio.io/inject, else the annotation of the same name
 *     ("true" → inject, "false" → skip, anything else → warning and the default);
 *  6. when the pod does not decide: neverInjectSelector (skip), else alwaysInjectSelector
 *     (inject), else the policy (enabled → inject, disabled → skip);
 *  7. already injected (status annotation present and all its containers present) → already_injected;
 *  8. another mesh's proxy in the pod → skip;
 *  9. a container or volume name we would add exists for another reason → skip.
 * All of 1–9 are evaluated; the verdict is skip when any of them skips.
 *
 * Truth table for rule 4 (label wins over annotation):
 *   label      | annotation | result
 *   "true"     | any        | inject (pod_label_enabled); annotation disagreeing → warning
 *   "false"    | any        | skip   (pod_label_disabled)
 *   other      | any        | warning, default
 *   absent     | "true"     | inject (pod_annotation_enabled)
 *   absent     | "false"    | skip   (pod_annotation_disabled)
 *   absent     | other      | warning, default
 *   absent     | absent     | default (namespace_enabled)
 */
import type { RequestFacts } from "./request.js";
import {
  Annotation,
  ContainerName,
  type InjectionPolicy,
  Label,
  type LabelSelector,
  OTHER_MESH_CONTAINERS,
} from "../config/config.js";
import { type Container, type Pod, lookup } from "./pod.js";
import { type Reason, ReasonCode, reason } from "./reasons.js";
import { describeSelector, matchesSelector } from "./selector.js";
import { type SidecarStatus, readStatus } from "./status.js";

export type Verdict = "inject" | "skip" | "already_injected" | "not_applicable";

/**
 * Who settled the verdict: the request itself, the namespace (ignore list or the namespaceSelector
 * that sent the pod here), the pod (its labels, annotations or spec), or the injector's policy
 * (never/always selectors, policy: disabled).
 */
export type DecidedBy = "request" | "namespace" | "pod" | "policy";

export interface InjectionDecision {
  readonly verdict: Verdict;
  /** Every reason found, in rule order (warnings included). */
  readonly reasons: readonly Reason[];
  readonly decidedBy: DecidedBy;
  /** The previous injection's record, when the pod carries one we can read. */
  readonly previous: SidecarStatus | null;
}

export type { RequestFacts };

export interface DecisionPolicy {
  readonly ignoredNamespaces: ReadonlySet<string>;
  readonly revision: string;
  readonly policy: InjectionPolicy;
  readonly neverInjectSelector: readonly LabelSelector[];
  readonly alwaysInjectSelector: readonly LabelSelector[];
  /** Every container (init or regular) name the injector adds. */
  readonly containerNames: readonly string[];
  /** Every volume name the injector adds. */
  readonly volumeNames: readonly string[];
}

/** Rule 0: is this request ours to judge at all? Returns the reason when it is not. */
export function checkApplicability(req: RequestFacts): Reason | null {
  if (req.kind.group !== "" || req.kind.kind !== "Pod") {
    const k = req.kind.group ? `${req.kind.kind}.${req.kind.group}` : req.kind.kind;
    return reason(ReasonCode.NotAPod, `The object is a ${k || "resource of unknown kind"}, not a Pod.`);
  }
  if (req.subResource) {
    return reason(ReasonCode.Subresource, `The request is for the pods/${req.subResource} subresource.`);
  }
  if (req.operation !== "CREATE") {
    return reason(ReasonCode.NotCreate, `The operation is ${req.operation}; the sidecar is only added on CREATE.`);
  }
  return null;
}

/** Parse an opt-in/out value: true, false, or undefined when it is not a recognised value. */
export function parseInjectValue(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === "true") return true;
  if (v === "false") return false;
  return undefined;
}

/** Where an opt-in/out can be set, and the reason codes each place gives. */
const OPT_SOURCES = {
  label: {
    key: Label.Inject,
    noun: "Label",
    enabled: (k: string) => reason(ReasonCode.PodLabelEnabled, `The pod is labelled ${k}=true.`),
    disabled: (k: string) => reason(ReasonCode.PodLabelDisabled, `The pod opts out with the label ${k}=false.`),
  },
  annotation: {
    key: Annotation.Inject,
    noun: "Annotation",
    enabled: (k: string) => reason(ReasonCode.PodAnnotationEnabled, `The pod is annotated ${k}=true.`),
    disabled: (k: string) => reason(ReasonCode.PodAnnotationDisabled, `The pod opts out with the annotation ${k}=false.`),
  },
} as const;

function optInOut(pod: Pod, reasons: Reason[]): { inject?: boolean; byPod: boolean } {
  const label = lookup(pod.metadata.labels, Label.Inject);
  const annotation = lookup(pod.metadata.annotations, Annotation.Inject);
  const source = label !== undefined ? OPT_SOURCES.label : annotation !== undefined ? OPT_SOURCES.annotation : undefined;
  const raw = label ?? annotation;
  if (source === undefined || raw === undefined) return { byPod: false };
  const value = parseInjectValue(raw);
  if (value === undefined) {
    reasons.push(
      reason(
        ReasonCode.InvalidInjectValue,
        `${source.noun} ${source.key}=${JSON.stringify(raw)} is not "true" or "false"; it is ignored and the default applies.`,
      ),
    );
    return { byPod: false };
  }
  if (source === OPT_SOURCES.label && annotation !== undefined && parseInjectValue(annotation) !== value) {
    reasons.push(
      reason(
        ReasonCode.AnnotationOverriddenByLabel,
        `Annotation ${Annotation.Inject}=${JSON.stringify(annotation)} is ignored: the label of the same name wins.`,
      ),
    );
  }
  reasons.push(value ? source.enabled(source.key) : source.disabled(source.key));
  return { inject: value, byPod: true };
}

/** A conflict when a name we add is taken by something the injector did not add. */
function nameConflict(
  code: ReasonCode,
  noun: string,
  ourNames: readonly string[],
  present: ReadonlySet<string>,
  addedBefore: readonly string[],
): Reason | null {
  const previous = new Set(addedBefore);
  const taken = ourNames.filter((n) => present.has(n) && !previous.has(n));
  if (taken.length === 0) return null;
  return reason(code, `The pod already has a ${noun} named ${taken.join(", ")} that the injector did not add; injecting would duplicate it.`);
}

function addsNetAdmin(c: Container): boolean {
  const add = (c.securityContext as { capabilities?: { add?: unknown } } | undefined)?.capabilities?.add;
  return Array.isArray(add) && add.includes("NET_ADMIN");
}

/** The container of another mesh's data plane in the pod, if any. */
function otherMeshProxy(pod: Pod): string | null {
  const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  const known = all.find((c) => OTHER_MESH_CONTAINERS.includes(c.name));
  if (known) return known.name;
  // An "envoy" beside an init container that installs iptables rules is someone else's proxy.
  if (all.some((c) => c.name === "envoy") && (pod.spec.initContainers ?? []).some(addsNetAdmin)) return "envoy";
  return null;
}

function allContainerNames(pod: Pod): Set<string> {
  const names = new Set<string>();
  for (const c of pod.spec.containers) names.add(c.name);
  for (const c of pod.spec.initContainers ?? []) names.add(c.name);
  return names;
}

/**
 * Decide for a shape-checked Pod CREATE in `namespace` (call checkApplicability first).
 * Pure: no IO, no clock, no config reads beyond `policy`.
 */
export function decide(pod: Pod, namespace: string, policy: DecisionPolicy): InjectionDecision {
  const reasons: Reason[] = [];
  let decidedBy: DecidedBy | undefined;

  // 1. ignored namespace
  if (policy.ignoredNamespaces.has(namespace)) {
    reasons.push(reason(ReasonCode.NamespaceIgnored, `Namespace ${namespace} is never injected (injector ignore list).`));
    decidedBy = "namespace";
  }
  // 2. host network
  if (pod.spec.hostNetwork === true) {
    reasons.push(reason(ReasonCode.HostNetwork, "The pod uses the host network (spec.hostNetwork: true); the sidecar cannot capture its traffic."));
    decidedBy ??= "pod";
  }
  // 3. mirror pod
  if (lookup(pod.metadata.annotations, Annotation.ConfigMirror) !== undefined) {
    reasons.push(reason(ReasonCode.MirrorPod, "The pod is a static (mirror) pod managed by the kubelet; it cannot be changed."));
    decidedBy ??= "pod";
  }
  // 4. revision
  const labels = pod.metadata.labels;
  const revision = lookup(labels, Label.Revision);
  if (revision !== undefined && revision !== policy.revision) {
    reasons.push(
      reason(ReasonCode.RevisionMismatch, `The pod asks for revision ${revision} (label ${Label.Revision}); this injector serves ${policy.revision}.`),
    );
    decidedBy ??= "pod";
  }
  // 5. opt-in / opt-out
  const opt = optInOut(pod, reasons);
  if (opt.byPod && opt.inject === false) decidedBy ??= "pod";
  // 6. selectors and the policy, when the pod does not decide
  let injectReason: Reason | null = null;
  if (!opt.byPod) {
    const never = policy.neverInjectSelector.find((sel) => matchesSelector(sel, labels));
    const always = never ? undefined : policy.alwaysInjectSelector.find((sel) => matchesSelector(sel, labels));
    if (never) {
      reasons.push(reason(ReasonCode.NeverInjectSelector, `The pod's labels match neverInjectSelector ${describeSelector(never)}.`));
      decidedBy ??= "policy";
    } else if (always) {
      injectReason = reason(ReasonCode.AlwaysInjectSelector, `The pod's labels match alwaysInjectSelector ${describeSelector(always)}.`);
      reasons.push(injectReason);
    } else if (policy.policy === "disabled") {
      reasons.push(reason(ReasonCode.PolicyDisabled, "The injection policy is disabled and neither the pod nor a selector asks for the sidecar."));
      decidedBy ??= "policy";
    }
  }

  // 7. already injected
  const statusText = lookup(pod.metadata.annotations, Annotation.Status);
  const previous = readStatus(pod.metadata.annotations);
  const present = allContainerNames(pod);
  if (statusText !== undefined && previous === null) {
    reasons.push(
      reason(ReasonCode.StatusAnnotationUnreadable, `Annotation ${Annotation.Status} is not a status record; it will be replaced.`),
    );
  }
  let alreadyInjected = false;
  if (previous !== null) {
    const listed = [...previous.initContainers, ...previous.containers];
    const missing = listed.filter((n) => !present.has(n));
    if (listed.length > 0 && missing.length === 0) {
      alreadyInjected = true;
    } else {
      reasons.push(
        reason(
          ReasonCode.ReinjectPartial,
          `The pod carries ${Annotation.Status} but lacks ${missing.join(", ") || "the listed containers"}; the sidecar is injected again.`,
        ),
      );
    }
  }

  // 8. another mesh's proxy
  const foreign = alreadyInjected ? null : otherMeshProxy(pod);
  if (foreign !== null) {
    reasons.push(
      reason(ReasonCode.SidecarAlreadyExists, `The pod already runs another mesh's proxy (${foreign}); a second proxy would break its traffic.`),
    );
    decidedBy ??= "pod";
  }

  // 9. name conflicts (names we added before, as recorded in the status, are ours to replace)
  if (!alreadyInjected) {
    // A container named istio-proxy among the app containers is the user's override of the
    // sidecar (as in Istio): merged over the injected proxy, not a conflict.
    const addedBefore = [...(previous?.initContainers ?? []), ...(previous?.containers ?? [])];
    const userProxy = pod.spec.containers.some((c) => c.name === ContainerName.Proxy) && !addedBefore.includes(ContainerName.Proxy);
    // Likewise an init container named istio-init: merged over the injected one (its image and args win).
    const userInit = (pod.spec.initContainers ?? []).some((c) => c.name === ContainerName.Init) && !addedBefore.includes(ContainerName.Init);
    const own = [...(userInit ? [ContainerName.Init] : []), ...(userProxy ? [ContainerName.Proxy] : [])];
    if (own.length > 0) {
      reasons.push(
        reason(
          ReasonCode.UserProxyOverrides,
          own.length > 1
            ? `The pod declares its own ${own.join(" and ")} containers; their fields are merged over the injected ones.`
            : `The pod declares its own ${own.join("")} container; its fields are merged over the injected one.`,
        ),
      );
    }
    const conflicts = [
      nameConflict(ReasonCode.ContainerNameConflict, "container", policy.containerNames, present, [...addedBefore, ...own]),
      nameConflict(
        ReasonCode.VolumeNameConflict,
        "volume",
        policy.volumeNames,
        new Set((pod.spec.volumes ?? []).map((v) => v.name)),
        previous?.volumes ?? [],
      ),
    ].filter((r) => r !== null);
    reasons.push(...conflicts);
    if (conflicts.length > 0) decidedBy ??= "pod";
  }

  const skipping = reasons.some((r) => r.effect === "skip");
  if (skipping) return { verdict: "skip", reasons, decidedBy: decidedBy ?? "pod", previous };
  if (alreadyInjected) {
    const list = [...(previous?.initContainers ?? []), ...(previous?.containers ?? [])].join(", ");
    reasons.push(reason(ReasonCode.AlreadyInjected, `The sidecar is already injected (${list}); nothing to change.`));
    return { verdict: "already_injected", reasons, decidedBy: "pod", previous };
  }
  if (!opt.byPod && injectReason === null) {
    reasons.push(reason(ReasonCode.NamespaceEnabled, `Namespace ${namespace} is enabled for injection and the pod does not opt out.`));
  }
  return { verdict: "inject", reasons, decidedBy: opt.byPod ? "pod" : injectReason ? "policy" : "namespace", previous };
}
