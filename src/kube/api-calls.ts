/**
 * Every Kubernetes API call the injector makes, in one table: the RBAC in manifests/ is checked
 * against it, docs/configuration.md lists it, and the test API server refuses (403) any request it does not
 * allow (test/support/rbac.ts), so a call added to the code without a row here fails the tests.
 */

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";

/** Which object a name-restricted row may touch: the configured Secret, Lease or webhook configuration. */
export type NamedObject = "secret" | "webhookConfig" | "istioConfigMaps";

export interface ApiCall {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly verbs: readonly Verb[];
  /**
   * cluster: any namespace or cluster-scoped; own-namespace: only the injector's namespace;
   * istio-namespace: only istio.fromCluster's namespace.
   */
  readonly scope: "cluster" | "own-namespace" | "istio-namespace";
  /** Restricted to one object by name (RBAC resourceNames). */
  readonly name?: NamedObject;
  /** The feature that needs it (docs/configuration.md, RBAC comments). */
  readonly why: string;
  /**
   * Needed only when the feature is on. `cli` rows are called by the commands alone (explain,
   * rollout), with the caller's own credentials: no shipped role holds them.
   */
  readonly feature: "always" | "self-managed-tls" | "audit-endpoint" | "istio-from-cluster" | "cli";
}

export const API_CALLS: readonly ApiCall[] = [
  {
    group: "", version: "v1", resource: "namespaces", verbs: ["list", "watch"], scope: "cluster", feature: "always",
    why: "namespace labels for report-only mode and the Pod Security warning (a watch, never a call per review)",
  },
  {
    group: "", version: "v1", resource: "secrets", verbs: ["get", "list", "watch", "update"], scope: "own-namespace", name: "secret", feature: "self-managed-tls",
    why: "the shared CA and serving certificate (tls.secretName)",
  },
  {
    group: "", version: "v1", resource: "secrets", verbs: ["create"], scope: "own-namespace", feature: "self-managed-tls",
    why: "create the certificate Secret the first time (create cannot be restricted by name)",
  },
  {
    group: "coordination.k8s.io", version: "v1", resource: "leases", verbs: ["get", "list", "watch", "create", "update", "delete"], scope: "own-namespace", feature: "self-managed-tls",
    why: "leader election (tls.leaseName) and one heartbeat Lease per replica naming the CA it serves",
  },
  {
    group: "admissionregistration.k8s.io", version: "v1", resource: "mutatingwebhookconfigurations", verbs: ["get", "list", "watch", "patch"], scope: "cluster", name: "webhookConfig", feature: "self-managed-tls",
    why: "keep webhooks[*].clientConfig.caBundle of tls.webhookConfigName right, and gate readiness on it",
  },
  {
    group: "", version: "v1", resource: "configmaps", verbs: ["list", "watch"], scope: "istio-namespace", name: "istioConfigMaps", feature: "istio-from-cluster",
    why: "Istio's injector values and mesh configuration, watched by name (istio.fromCluster)",
  },
  {
    group: "", version: "v1", resource: "pods", verbs: ["list", "watch"], scope: "cluster", feature: "audit-endpoint",
    why: "the audit: which pods are injected, stale or out of policy",
  },
  {
    group: "apps", version: "v1", resource: "replicasets", verbs: ["list", "watch"], scope: "cluster", feature: "audit-endpoint",
    why: "the audit: the workload that owns each pod (restart plan)",
  },
  {
    group: "apps", version: "v1", resource: "deployments", verbs: ["list", "watch"], scope: "cluster", feature: "audit-endpoint",
    why: "the audit: the workload that owns each pod (restart plan)",
  },
  {
    group: "apps", version: "v1", resource: "statefulsets", verbs: ["list", "watch"], scope: "cluster", feature: "audit-endpoint",
    why: "the audit: the workload that owns each pod (restart plan)",
  },
  {
    group: "apps", version: "v1", resource: "daemonsets", verbs: ["list", "watch"], scope: "cluster", feature: "audit-endpoint",
    why: "the audit: the workload that owns each pod (restart plan)",
  },
  {
    group: "batch", version: "v1", resource: "jobs", verbs: ["list", "watch"], scope: "cluster", feature: "audit-endpoint",
    why: "the audit: the workload that owns each pod (restart plan)",
  },
  {
    group: "admissionregistration.k8s.io", version: "v1", resource: "mutatingwebhookconfigurations", verbs: ["list", "watch"], scope: "cluster", feature: "audit-endpoint",
    why: "the audit: which webhook configurations send pods to the injector (optional: skipped when forbidden)",
  },
  {
    group: "authentication.k8s.io", version: "v1", resource: "tokenreviews", verbs: ["create"], scope: "cluster", feature: "audit-endpoint",
    why: "GET /audit and GET /explain: who the caller's bearer token belongs to (delegated authentication)",
  },
  {
    group: "authorization.k8s.io", version: "v1", resource: "subjectaccessreviews", verbs: ["create"], scope: "cluster", feature: "audit-endpoint",
    why: "GET /audit and GET /explain: whether the caller may list pods cluster-wide or in the namespace asked for (delegated authorization)",
  },
  {
    group: "", version: "v1", resource: "namespaces", verbs: ["get"], scope: "cluster", feature: "cli",
    why: "explain -n NS and rollout -n NS: the namespace's labels, read by name (a caller with rights in one namespace only)",
  },
  {
    group: "policy", version: "v1", resource: "poddisruptionbudgets", verbs: ["list"], scope: "cluster", feature: "cli",
    why: "the rollout command: whether a PodDisruptionBudget leaves room to restart a workload now",
  },
  {
    group: "apps", version: "v1", resource: "deployments", verbs: ["get", "patch"], scope: "cluster", feature: "cli",
    why: "the rollout command: restart (the pod template's kubectl.kubernetes.io/restartedAt, as kubectl rollout restart) and follow the rollout",
  },
  {
    group: "apps", version: "v1", resource: "statefulsets", verbs: ["get", "patch"], scope: "cluster", feature: "cli",
    why: "the rollout command: restart (the pod template's kubectl.kubernetes.io/restartedAt, as kubectl rollout restart) and follow the rollout",
  },
  {
    group: "apps", version: "v1", resource: "daemonsets", verbs: ["get", "patch"], scope: "cluster", feature: "cli",
    why: "the rollout command: restart (the pod template's kubectl.kubernetes.io/restartedAt, as kubectl rollout restart) and follow the rollout",
  },
];

/** Non-resource URLs called (allowed to every authenticated user by the system:discovery role). */
export const NON_RESOURCE_CALLS: ReadonlyArray<{ readonly path: string; readonly verbs: readonly Verb[]; readonly why: string }> = [
  { path: "/version", verbs: ["get"], why: "the cluster's version, once at startup (nativeSidecars: auto)" },
];
