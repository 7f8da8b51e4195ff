/**
 * Every Kubernetes API call the injector makes, in one table: the RBAC in manifests/ is checked
 * against it, the README lists it, and the test API server refuses (403) any request it does not
 * allow, so a call added to the code without a row here fails the tests.
 *
 * `describeRequest` reads a request the way kube-apiserver's RequestInfo does (verb, group,
 * resource, namespace, name; a list or watch with a `metadata.name=` field selector names its
 * object, which is how RBAC's resourceNames can authorize them).
 */

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";

/** Which object a name-restricted row may touch: the configured Secret, Lease or webhook configuration. */
export type NamedObject = "secret" | "webhookConfig";

export interface ApiCall {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly verbs: readonly Verb[];
  /** cluster: any namespace or cluster-scoped; own-namespace: only the injector's namespace. */
  readonly scope: "cluster" | "own-namespace";
  /** Restricted to one object by name (RBAC resourceNames). */
  readonly name?: NamedObject;
  /** The feature that needs it (README, RBAC comments). */
  readonly why: string;
  /** Needed only when the feature is on; see `featuresOf`. */
  readonly feature: "always" | "self-managed-tls" | "audit-endpoint";
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
];

/** Non-resource URLs called (allowed to every authenticated user by the system:discovery role). */
export const NON_RESOURCE_CALLS: ReadonlyArray<{ readonly path: string; readonly verbs: readonly Verb[]; readonly why: string }> = [
  { path: "/version", verbs: ["get"], why: "the cluster's version, once at startup (nativeSidecars: auto)" },
];

/** A request as RBAC sees it. */
export interface RequestAttributes {
  readonly verb: Verb | "deletecollection" | string;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly path: string;
  readonly isResource: boolean;
}

const METHOD_VERBS: Readonly<Record<string, string>> = { POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" };

/** Read an HTTP request to the API server as (verb, group, version, resource, namespace, name). */
export function describeRequest(method: string, url: string): RequestAttributes {
  const [path = "/", queryText = ""] = url.split("?");
  const query = new URLSearchParams(queryText);
  const parts = path.split("/").filter((p) => p !== "");
  let rest: string[];
  let group = "";
  let version = "";
  if (parts[0] === "api" && parts.length >= 2) {
    version = parts[1] ?? "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    group = parts[1] ?? "";
    version = parts[2] ?? "";
    rest = parts.slice(3);
  } else {
    return { verb: method.toLowerCase(), group: "", version: "", resource: "", path, isResource: false };
  }
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource = "", nameInPath, subresource] = rest;
  let name = nameInPath;
  let verb: string;
  if (method === "GET" || method === "HEAD") {
    const watching = query.get("watch") === "true" || query.get("watch") === "1";
    verb = name !== undefined ? "get" : watching ? "watch" : "list";
    if (name === undefined) {
      const selected = /(?:^|,)metadata\.name=([^,]+)/.exec(query.get("fieldSelector") ?? "");
      if (selected) name = selected[1];
    }
  } else if (method === "DELETE" && name === undefined) {
    verb = "deletecollection";
  } else {
    verb = METHOD_VERBS[method] ?? method.toLowerCase();
  }
  return {
    verb,
    group,
    version,
    resource,
    ...(subresource !== undefined && { subresource }),
    ...(namespace !== undefined && { namespace }),
    ...(name !== undefined && { name }),
    path,
    isResource: true,
  };
}

/** The names the name-restricted rows refer to, from the config. */
export interface CallNames {
  readonly namespace: string;
  readonly secret: string;
  readonly webhookConfig: string;
}

/** Is the request allowed by the tables (as RBAC built from them would allow it)? */
export function isAllowed(attrs: RequestAttributes, names: CallNames): boolean {
  if (!attrs.isResource) return NON_RESOURCE_CALLS.some((c) => c.path === attrs.path && c.verbs.includes(attrs.verb as Verb));
  if (attrs.subresource !== undefined) return false;
  return API_CALLS.some(
    (call) =>
      call.group === attrs.group &&
      call.resource === attrs.resource &&
      call.verbs.includes(attrs.verb as Verb) &&
      (call.scope === "cluster" || attrs.namespace === names.namespace) &&
      (call.name === undefined || attrs.name === names[call.name]),
  );
}
