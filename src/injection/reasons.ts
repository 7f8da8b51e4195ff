/**
 * Stable reason codes (snake_case: they become log fields, metric labels and audit annotations) and
 * the effect each has on the decision. Messages are built beside the code that finds the fact.
 */

export const ReasonCode = {
  // The request is not ours to judge (allowed untouched, no warning).
  NotAPod: "not_a_pod",
  NotCreate: "operation_not_create",
  Subresource: "subresource_request",
  // Skips.
  NamespaceNotSelected: "namespace_not_selected",
  WebhookNotCalled: "webhook_not_called",
  NamespaceIgnored: "namespace_ignored",
  HostNetwork: "host_network",
  MirrorPod: "mirror_pod",
  RevisionMismatch: "revision_mismatch",
  PodLabelDisabled: "pod_label_disabled",
  PodAnnotationDisabled: "pod_annotation_disabled",
  NeverInjectSelector: "never_inject_selector",
  PolicyDisabled: "policy_disabled",
  SidecarAlreadyExists: "sidecar_already_exists",
  ContainerNameConflict: "container_name_conflict",
  VolumeNameConflict: "volume_name_conflict",
  // Nothing to do.
  AlreadyInjected: "already_injected",
  // Why we inject.
  PodLabelEnabled: "pod_label_enabled",
  PodAnnotationEnabled: "pod_annotation_enabled",
  AlwaysInjectSelector: "always_inject_selector",
  NamespaceEnabled: "namespace_enabled",
  // Informational, shown to the user as warnings.
  InvalidInjectValue: "invalid_inject_value",
  AnnotationOverriddenByLabel: "annotation_overridden_by_label",
  StatusAnnotationUnreadable: "status_annotation_unreadable",
  ReinjectPartial: "reinject_partial",
  JobWithoutNativeSidecar: "job_without_native_sidecar",
  AnnotationIgnored: "annotation_ignored",
  PodSecurityConflict: "podsecurity_conflict",
  ReportOnly: "report_only",
  // Informational only (logs, audit, explain), not shown as a warning.
  UserProxyOverrides: "user_proxy_overrides",
} as const;
export type ReasonCode = (typeof ReasonCode)[keyof typeof ReasonCode];

/**
 * What a reason does: `ignore` (not our request), `skip` (do not inject), `noop` (already done),
 * `inject` (why we inject), `warn` (worth telling the user; changes nothing by itself), `info`
 * (recorded in logs, audit annotations and explain output only).
 */
export type ReasonEffect = "ignore" | "skip" | "noop" | "inject" | "warn" | "info";

export const REASON_EFFECT: Readonly<Record<ReasonCode, ReasonEffect>> = {
  not_a_pod: "ignore",
  operation_not_create: "ignore",
  subresource_request: "ignore",
  namespace_not_selected: "skip",
  webhook_not_called: "skip",
  namespace_ignored: "skip",
  host_network: "skip",
  mirror_pod: "skip",
  revision_mismatch: "skip",
  pod_label_disabled: "skip",
  pod_annotation_disabled: "skip",
  never_inject_selector: "skip",
  policy_disabled: "skip",
  sidecar_already_exists: "skip",
  container_name_conflict: "skip",
  volume_name_conflict: "skip",
  already_injected: "noop",
  pod_label_enabled: "inject",
  pod_annotation_enabled: "inject",
  always_inject_selector: "inject",
  namespace_enabled: "inject",
  invalid_inject_value: "warn",
  annotation_overridden_by_label: "warn",
  status_annotation_unreadable: "warn",
  reinject_partial: "warn",
  job_without_native_sidecar: "warn",
  annotation_ignored: "warn",
  podsecurity_conflict: "warn",
  report_only: "warn",
  user_proxy_overrides: "info",
};

/**
 * Skips that a user may not expect, and so are also returned as admission warnings. An explicit
 * opt-out is what the user asked for and gets no warning.
 */
export const WARN_ON_SKIP: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  ReasonCode.NamespaceIgnored,
  ReasonCode.HostNetwork,
  ReasonCode.MirrorPod,
  ReasonCode.RevisionMismatch,
  ReasonCode.SidecarAlreadyExists,
  ReasonCode.ContainerNameConflict,
  ReasonCode.VolumeNameConflict,
]);

export interface Reason {
  readonly code: ReasonCode;
  readonly effect: ReasonEffect;
  /** A complete sentence for humans. */
  readonly message: string;
}

export function reason(code: ReasonCode, message: string): Reason {
  return { code, effect: REASON_EFFECT[code], message };
}
