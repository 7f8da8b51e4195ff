/**
 * RBAC as the API server applies it, for the test API server: `describeRequest` reads a request
 * the way kube-apiserver's RequestInfo does (verb, group, resource, namespace, name; a list or
 * watch with a `metadata.name=` field selector names its object, which is how RBAC's
 * resourceNames can authorize them), and `isAllowed` answers as RBAC built from the table of API
 * calls in src/kube/api-calls.ts would.
 */
import { API_CALLS, NON_RESOURCE_CALLS, type Verb } from "../../src/kube/api-calls.js";

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
  /** istio.fromCluster's namespace and ConfigMaps; omitted: the feature is off (its rows deny). */
  readonly istio?: { readonly namespace: string; readonly configMaps: readonly string[] };
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
      (call.scope === "cluster" || attrs.namespace === (call.scope === "istio-namespace" ? names.istio?.namespace : names.namespace)) &&
      (call.name === undefined || (call.name === "istioConfigMaps" ? (names.istio?.configMaps ?? []).includes(attrs.name ?? "") : attrs.name === names[call.name])),
  );
}
