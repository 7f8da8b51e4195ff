/**
 * An in-process Kubernetes API server for the kinds the injector uses, faithful where the
 * code depends on it: a store with a cluster-wide resourceVersion; GET (404 NotFound), list with
 * field (metadata.name) and label (equality) selectors, watch from a resourceVersion (events
 * replayed, ADDED/MODIFIED/DELETED, 410 Gone after `compact()`), lists in pages (`limit`,
 * `continue`, 410 Expired for a token older than the last `compact()`), POST (409 AlreadyExists), PUT
 * (409 Conflict on a stale resourceVersion), PATCH (JSON Patch with `test`, merge patch), DELETE;
 * per-kind decoding checks the real server makes (MicroTime with exactly six fractional digits,
 * base64 Secret data and caBundle, integer leaseDurationSeconds); and RBAC built from
 * src/kube/api-calls.ts (403 for anything the table does not allow). Clients are told apart by
 * their bearer token, so a test can cut one replica off (`partition`). `intercept` scripts
 * answers the store would not give (a 403 at first, a hang). With `users`, it answers TokenReview
 * and SubjectAccessReview as the real one does (delegated authentication and authorization):
 * a token names a user, and the user's grants say which (verb, resource, namespace) it may do.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import fastJsonPatch from "fast-json-patch";
import { type CallNames, describeRequest, isAllowed } from "./rbac.js";

type Json = Record<string, unknown>;

export interface Kind {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Decoding problems (→ 400) for a body of this kind. */
  readonly decode?: (o: Json) => string[];
}

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const Kinds = {
  Secret: {
    group: "", version: "v1", resource: "secrets", kind: "Secret", namespaced: true,
    decode: (o: Json) =>
      Object.entries((o.data as Record<string, unknown> | undefined) ?? {})
        .filter(([, v]) => typeof v !== "string" || !BASE64.test(v) || v.length % 4 !== 0)
        .map(([k]) => `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at data.${k}`),
  },
  Lease: {
    group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", namespaced: true,
    decode: (o: Json) => {
      const spec = (o.spec as Record<string, unknown> | undefined) ?? {};
      const problems: string[] = [];
      for (const f of ["acquireTime", "renewTime"]) {
        const v = spec[f];
        if (v !== undefined && v !== null && (typeof v !== "string" || !MICRO_TIME.test(v))) {
          problems.push(`Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse (spec.${f})`);
        }
      }
      const d = spec.leaseDurationSeconds;
      if (d !== undefined && !Number.isInteger(d)) problems.push(`Lease in version "v1" cannot be handled as a Lease: spec.leaseDurationSeconds: cannot unmarshal number ${String(d)} into int32`);
      return problems;
    },
  },
  MutatingWebhookConfiguration: {
    group: "admissionregistration.k8s.io", version: "v1", resource: "mutatingwebhookconfigurations", kind: "MutatingWebhookConfiguration", namespaced: false,
    decode: (o: Json) =>
      ((o.webhooks as Json[] | undefined) ?? []).flatMap((w, i) => {
        const b = (w.clientConfig as Json | undefined)?.caBundle;
        return b === undefined || (typeof b === "string" && BASE64.test(b) && b.length % 4 === 0)
          ? []
          : [`MutatingWebhookConfiguration cannot be handled: illegal base64 data at webhooks[${i}].clientConfig.caBundle`];
      }),
  },
  Namespace: { group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false },
  // Istio's ConfigMaps (istio.fromCluster, src/kube/istio-configmaps.ts).
  ConfigMap: { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true },
  // What the audit's caches list and watch (src/kube/snapshot.ts).
  Pod: { group: "", version: "v1", resource: "pods", kind: "Pod", namespaced: true },
  ReplicaSet: { group: "apps", version: "v1", resource: "replicasets", kind: "ReplicaSet", namespaced: true },
  Deployment: { group: "apps", version: "v1", resource: "deployments", kind: "Deployment", namespaced: true },
  StatefulSet: { group: "apps", version: "v1", resource: "statefulsets", kind: "StatefulSet", namespaced: true },
  DaemonSet: { group: "apps", version: "v1", resource: "daemonsets", kind: "DaemonSet", namespaced: true },
  Job: { group: "batch", version: "v1", resource: "jobs", kind: "Job", namespaced: true },
  // What the rollout command reads besides (src/kube/workloads.ts).
  PodDisruptionBudget: { group: "policy", version: "v1", resource: "poddisruptionbudgets", kind: "PodDisruptionBudget", namespaced: true },
} as const satisfies Record<string, Kind>;

/** Kinds whose metadata.generation the server counts (spec changes). */
const GENERATION_KINDS: ReadonlySet<string> = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "PodDisruptionBudget"]);

interface StoredEvent {
  readonly rv: number;
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly kind: Kind;
  readonly object: Json;
}

interface Watcher {
  readonly kind: Kind;
  readonly namespace: string | undefined;
  readonly match: (o: Json) => boolean;
  readonly res: ServerResponse;
}

/** One grant: `verb` on `resource` (of `group`, default core) in `namespace`, or everywhere when omitted. */
export interface FakeGrant {
  readonly verb: string;
  readonly resource: string;
  readonly group?: string;
  /** Omitted: cluster-wide, which covers every namespace. */
  readonly namespace?: string;
}

/** A user the TokenReview knows by its token; what it may do for the SubjectAccessReview. */
export interface FakeUser {
  readonly token: string;
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly grants: readonly FakeGrant[];
}

/** Does a grant cover the SubjectAccessReview's resourceAttributes (as RBAC would)? */
export function grantCovers(grant: FakeGrant, attrs: { verb?: string; group?: string; resource?: string; namespace?: string }): boolean {
  const ns = attrs.namespace ?? "";
  return (
    (grant.verb === "*" || grant.verb === attrs.verb) &&
    (grant.group ?? "") === (attrs.group ?? "") &&
    (grant.resource === "*" || grant.resource === attrs.resource) &&
    (grant.namespace === undefined || (ns !== "" && grant.namespace === ns))
  );
}

export interface FakeApiServerOptions {
  /** Enforce RBAC from src/kube/api-calls.ts with these names; omitted: allow everything. */
  readonly rbac?: CallNames;
  readonly version?: { major: string; minor: string; gitVersion: string };
  readonly kinds?: readonly Kind[];
  /**
   * A scripted answer ahead of the store (a refusal, a hang, a change made at a chosen moment):
   * return true when it answered the request, false to let the server answer it as usual.
   */
  readonly intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Users for TokenReview and SubjectAccessReview; omitted: every token is unknown. */
  readonly users?: readonly FakeUser[];
}

/** One list request as the server answered it. */
export interface ListCall {
  readonly path: string;
  /** The limit asked for (0: none). */
  readonly limit: number;
  readonly continued: boolean;
  readonly items: number;
}

export interface FakeApiServer {
  readonly url: string;
  /** Every list (not watch) request, with its page size and how many objects it returned. */
  readonly listCalls: ListCall[];
  /** "METHOD path?query" of every request, in order. */
  readonly requests: string[];
  /** Requests refused by RBAC. */
  readonly denied: string[];
  /** Every write the store answered (POST, PUT, PATCH): path, Content-Type and body as sent. */
  readonly writes: Array<{ readonly method: string; readonly path: string; readonly contentType: string; readonly body: string }>;
  /** A client config; `token` tells this client apart (see partition). */
  kubeConfig(token?: string): KubeConfig;
  get(kind: Kind, name: string, namespace?: string): Json | undefined;
  /** Create or replace an object as another actor would (a GitOps sync, kubectl). */
  put(kind: Kind, object: Json): Json;
  remove(kind: Kind, name: string, namespace?: string): void;
  /**
   * Drop the event history: watches from an older resourceVersion get 410 Gone, and continue
   * tokens of lists read before the latest write get 410 Expired.
   */
  compact(): void;
  /** Refuse every request carrying `token` (a partitioned replica); undo with heal. */
  partition(token: string): void;
  heal(token: string): void;
  /** Call `listener` after every change to the store (a controller's trigger); returns the undo. */
  onChange(listener: (type: "ADDED" | "MODIFIED" | "DELETED", kind: Kind, object: Json) => void): () => void;
  /** Every stored object of a kind (in a namespace). */
  list(kind: Kind, namespace?: string): Json[];
  /** Open watch connections. */
  watchers(): number;
  /** End every open watch, as the server does when a watch's timeout passes. */
  endWatches(): void;
  close(): Promise<void>;
}

function status(res: ServerResponse, code: number, reason: string, message: string, details?: Json): void {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code, ...(details && { details }) }));
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

/** A list answer written object by object: a page is never one giant string. */
function sendList(res: ServerResponse, head: Json, items: readonly Json[]): void {
  res.writeHead(200, { "Content-Type": "application/json" });
  const open = JSON.stringify({ ...head, items: [] });
  res.write(open.slice(0, -2)); // ... "items":[
  items.forEach((o, i) => res.write(i === 0 ? JSON.stringify(o) : `,${JSON.stringify(o)}`));
  res.end("]}");
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function meta(o: Json): Json {
  return (o.metadata as Json | undefined) ?? {};
}

/** Label selector with equality terms only (k=v, k!=v, k), which is all the code uses. */
function labelMatcher(selector: string | null): (o: Json) => boolean {
  if (!selector) return () => true;
  const terms = selector.split(",").filter((t) => t !== "");
  return (o) => {
    const labels = (meta(o).labels as Record<string, string> | undefined) ?? {};
    return terms.every((t) => {
      const ne = /^([^!=]+)!=(.*)$/.exec(t);
      if (ne) return labels[ne[1] ?? ""] !== ne[2];
      const eq = /^([^=]+)==?(.*)$/.exec(t);
      if (eq) return labels[eq[1] ?? ""] === eq[2];
      return Object.hasOwn(labels, t);
    });
  };
}

function fieldMatcher(selector: string | null): (o: Json) => boolean {
  if (!selector) return () => true;
  const m = /^metadata\.name=(.+)$/.exec(selector);
  if (!m) throw new Error(`field selector not supported by the fake: ${selector}`);
  return (o) => meta(o).name === m[1];
}

export async function startFakeApiServer(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const kinds: readonly Kind[] = opts.kinds ?? Object.values(Kinds);
  const store = new Map<string, Json>();
  let events: StoredEvent[] = [];
  let compactedAt = 0;
  // The newest resourceVersion compacted away: a continue token for an older list is too old.
  let compactedRv = 0;
  let rv = 1000;
  const watchers = new Set<Watcher>();
  const partitioned = new Set<string>();
  const requests: string[] = [];
  const denied: string[] = [];
  const listCalls: ListCall[] = [];
  const writes: FakeApiServer["writes"] = [];

  const key = (kind: Kind, namespace: string | undefined, name: string) => `${kind.resource}/${namespace ?? ""}/${name}`;
  // Each resource's keys in order, kept until an object is added or removed, so a page of a large
  // list (the scale benchmark's 100,000 pods) costs its own objects, not a sort of all of them.
  const sortedKeys = new Map<string, string[]>();
  const keysOf = (resource: string): string[] => {
    let keys = sortedKeys.get(resource);
    if (keys === undefined) {
      keys = [...store.keys()].filter((k) => k.startsWith(`${resource}/`)).sort();
      sortedKeys.set(resource, keys);
    }
    return keys;
  };
  const listeners = new Set<(type: StoredEvent["type"], kind: Kind, object: Json) => void>();
  const emit = (type: StoredEvent["type"], kind: Kind, object: Json) => {
    events.push({ rv, type, kind, object });
    for (const l of listeners) l(type, kind, object);
    for (const w of watchers) {
      if (w.kind !== kind || (w.namespace !== undefined && meta(object).namespace !== w.namespace) || !w.match(object)) continue;
      w.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  };
  const stamp = (kind: Kind, o: Json, previous: Json | undefined): Json => {
    const m = meta(o);
    const prev = previous ? meta(previous) : {};
    // metadata.generation, as the real server keeps it for the kinds with a spec and a status
    // subresource: 1 on create, one more on every change of the spec.
    const generation = GENERATION_KINDS.has(kind.kind)
      ? { generation: previous === undefined ? 1 : Number(prev.generation ?? 1) + (JSON.stringify(previous.spec) === JSON.stringify(o.spec) ? 0 : 1) }
      : {};
    return {
      ...o,
      apiVersion: kind.group ? `${kind.group}/${kind.version}` : kind.version,
      kind: kind.kind,
      metadata: {
        ...m,
        ...generation,
        uid: prev.uid ?? randomUUID(),
        creationTimestamp: prev.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        resourceVersion: String(++rv),
      },
    };
  };
  const write = (kind: Kind, input: Json): Json => {
    const o = withDefaults(kind, input);
    const m = meta(o);
    const k = key(kind, m.namespace as string | undefined, String(m.name));
    const previous = store.get(k);
    const stored = stamp(kind, o, previous);
    if (!store.has(k)) sortedKeys.delete(kind.resource);
    store.set(k, stored);
    emit(previous ? "MODIFIED" : "ADDED", kind, stored);
    return stored;
  };
  const erase = (kind: Kind, namespace: string | undefined, name: string): Json | undefined => {
    const k = key(kind, namespace, name);
    const previous = store.get(k);
    if (!previous) return undefined;
    store.delete(k);
    sortedKeys.delete(kind.resource);
    const gone = { ...previous, metadata: { ...meta(previous), resourceVersion: String(++rv) } };
    emit("DELETED", kind, gone);
    return gone;
  };

  // Discovery, as kubectl reads it before a request (legacy form: /api, /apis, /api/v1, /apis/G/V).
  const discovery = (path: string): Json | undefined => {
    const groups = [...new Set(kinds.filter((k) => k.group !== "").map((k) => `${k.group}/${k.version}`))];
    if (path === "/api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1" }] };
    if (path === "/apis") {
      return {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: groups.map((gv) => {
          const [name = "", version = ""] = gv.split("/");
          return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
        }),
      };
    }
    const gv = path.startsWith("/api/") ? path.slice("/api/".length) : path.startsWith("/apis/") ? path.slice("/apis/".length) : "";
    const listed = kinds.filter((k) => (k.group ? `${k.group}/${k.version}` : k.version) === gv.replace(/\/$/, ""));
    if (listed.length === 0) return undefined;
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: gv.replace(/\/$/, ""),
      resources: listed.map((k) => ({
        name: k.resource,
        singularName: k.kind.toLowerCase(),
        namespaced: k.namespaced,
        kind: k.kind,
        verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
      })),
    };
  };
  const users = opts.users ?? [];
  const parseReview = async (req: IncomingMessage, res: ServerResponse, kind: string): Promise<Json | null> => {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      status(res, 400, "BadRequest", "the request body is not JSON");
      return null;
    }
    if (body === null || typeof body !== "object" || (body as Json).kind !== kind) {
      status(res, 400, "BadRequest", `the body is not a ${kind}`);
      return null;
    }
    return body as Json;
  };
  // POST /apis/authentication.k8s.io/v1/tokenreviews, as kube-apiserver answers it (201, status filled in).
  const reviewToken = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const review = await parseReview(req, res, "TokenReview");
    if (review === null) return;
    const spec = (review.spec as Json | undefined) ?? {};
    const token = spec.token;
    if (typeof token !== "string" || token === "") return status(res, 400, "BadRequest", "token is required for TokenReview in authentication");
    const user = users.find((u) => u.token === token);
    const answer = user
      ? { authenticated: true, user: { username: user.username, uid: user.uid ?? `uid-${user.username}`, groups: [...(user.groups ?? []), "system:authenticated"] }, audiences: ["https://kubernetes.default.svc"] }
      : { user: {}, error: "[invalid bearer token, token lookup failed]" };
    return send(res, 201, { kind: "TokenReview", apiVersion: "authentication.k8s.io/v1", metadata: { creationTimestamp: null }, spec, status: answer });
  };
  // POST /apis/authorization.k8s.io/v1/subjectaccessreviews: validated as the real one does, answered from the users' grants.
  const reviewAccess = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const review = await parseReview(req, res, "SubjectAccessReview");
    if (review === null) return;
    const spec = (review.spec as Json | undefined) ?? {};
    const attrs = spec.resourceAttributes as { verb?: string; group?: string; resource?: string; namespace?: string } | undefined;
    const problems: string[] = [];
    if ((typeof spec.user !== "string" || spec.user === "") && !(Array.isArray(spec.groups) && spec.groups.length > 0)) {
      problems.push('spec.user: Invalid value: "": at least one of user or group must be specified');
    }
    if ((attrs === undefined) === (spec.nonResourceAttributes === undefined)) {
      problems.push("spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified");
    }
    if (problems.length > 0) return status(res, 422, "Invalid", `SubjectAccessReview.authorization.k8s.io "" is invalid: ${problems.join(", ")}`);
    const user = users.find((u) => u.username === spec.user);
    const grant = attrs === undefined ? undefined : user?.grants.find((g) => grantCovers(g, attrs));
    const answer = grant
      ? { allowed: true, reason: `allowed by the test server's grant of ${grant.verb} ${grant.resource} ${grant.namespace === undefined ? "cluster-wide" : `in ${grant.namespace}`} to User "${user?.username}"` }
      : { allowed: false };
    return send(res, 201, { kind: "SubjectAccessReview", apiVersion: "authorization.k8s.io/v1", metadata: { creationTimestamp: null }, spec, status: answer });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? "/";
    const method = req.method ?? "GET";
    requests.push(`${method} ${url}`);
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    if (partitioned.has(token)) {
      req.socket.destroy();
      return;
    }
    if (opts.intercept?.(req, res) === true) return;
    const attrs = describeRequest(method, url);
    if (opts.rbac && !isAllowed(attrs, opts.rbac)) {
      denied.push(`${method} ${url}`);
      const what = attrs.isResource ? `${attrs.resource}${attrs.group ? `.${attrs.group}` : ""}` : attrs.path;
      status(res, 403, "Forbidden", `${what} is forbidden: User "system:serviceaccount:test:sidecar-injector" cannot ${attrs.verb} resource "${attrs.resource}"`);
      return;
    }
    if (method === "POST" && attrs.isResource && attrs.namespace === undefined && attrs.version === "v1") {
      if (attrs.group === "authentication.k8s.io" && attrs.resource === "tokenreviews") return reviewToken(req, res);
      if (attrs.group === "authorization.k8s.io" && attrs.resource === "subjectaccessreviews") return reviewAccess(req, res);
    }
    if (!attrs.isResource || (method === "GET" && /^\/apis?(\/[^/]+){0,2}\/?$/.test(attrs.path) && discovery(attrs.path) !== undefined)) {
      if (method === "GET" && attrs.path === "/version" && opts.version) return send(res, 200, { ...opts.version, platform: "linux/amd64" });
      const found = method === "GET" ? discovery(attrs.path) : undefined;
      if (found !== undefined) return send(res, 200, found);
      return status(res, 404, "NotFound", "the server could not find the requested resource");
    }
    const kind = kinds.find((k) => k.group === attrs.group && k.version === attrs.version && k.resource === attrs.resource);
    if (!kind || attrs.subresource !== undefined) return status(res, 404, "NotFound", "the server could not find the requested resource");
    const namespace = kind.namespaced ? attrs.namespace : undefined;
    const query = new URLSearchParams(url.split("?")[1] ?? "");
    const parts = (url.split("?")[0] ?? "").split("/").filter((p) => p !== "");
    const after = parts[parts.indexOf(kind.resource, kind.group ? 3 : 2) + 1];
    const nameInPath = after === undefined ? undefined : decodeURIComponent(after);
    const notFound = (name: string) =>
      status(res, 404, "NotFound", `${kind.resource}${kind.group ? `.${kind.group}` : ""} "${name}" not found`, { name, group: kind.group, kind: kind.resource });

    if (method === "GET" && nameInPath === undefined) {
      let match: (o: Json) => boolean;
      try {
        const byLabel = labelMatcher(query.get("labelSelector"));
        const byField = fieldMatcher(query.get("fieldSelector"));
        match = (o) => byLabel(o) && byField(o);
      } catch (err) {
        return status(res, 400, "BadRequest", (err as Error).message);
      }
      const inScope = (o: Json) => namespace === undefined || meta(o).namespace === namespace;
      if (attrs.verb === "watch") {
        const from = Number(query.get("resourceVersion") ?? "0");
        res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
        res.flushHeaders();
        if (from !== 0 && from < compactedAt) {
          res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Expired", code: 410, message: `too old resource version: ${from} (${compactedAt})` } })}\n`);
          return;
        }
        for (const e of events) {
          if (e.rv > from && e.kind === kind && inScope(e.object) && match(e.object)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
        }
        const w: Watcher = { kind, namespace, match, res };
        watchers.add(w);
        req.on("close", () => watchers.delete(w));
        const timeout = Number(query.get("timeoutSeconds") ?? "0");
        if (timeout > 0) setTimeout(() => res.end(), timeout * 1000).unref();
        return;
      }
      // Pages as the real server serves them: `limit` objects in key order, and a continue token
      // naming the list's resourceVersion and the last key served; a token older than the last
      // compact() is 410 Expired. (Later pages read the store as it is now, not as it was at the
      // token's resourceVersion: close enough for clients, which must not depend on either.)
      const limit = Number(query.get("limit") ?? "0");
      const token = query.get("continue");
      let listRv = rv;
      let after = "";
      if (token) {
        let decoded: { rv?: unknown; start?: unknown };
        try {
          decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { rv?: unknown; start?: unknown };
        } catch {
          return status(res, 400, "BadRequest", "continue key is not valid: illegal base64 data");
        }
        if (typeof decoded.rv !== "number" || typeof decoded.start !== "string") return status(res, 400, "BadRequest", "continue key is not valid");
        if (decoded.rv < compactedRv) {
          return status(res, 410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.");
        }
        listRv = decoded.rv;
        after = decoded.start;
      }
      const keys = keysOf(kind.resource);
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((keys[mid] as string) <= after) lo = mid + 1;
        else hi = mid;
      }
      const page: Array<[string, Json]> = [];
      let more = false;
      let remaining = 0;
      for (let i = lo; i < keys.length; i++) {
        const k = keys[i] as string;
        const o = store.get(k) as Json;
        if (!inScope(o) || !match(o)) continue;
        if (limit > 0 && page.length >= limit) {
          more = true;
          remaining++;
        } else page.push([k, o]);
      }
      listCalls.push({ path: url.split("?")[0] ?? "", limit, continued: Boolean(token), items: page.length });
      const last = page[page.length - 1]?.[0] ?? after;
      const metadata = {
        resourceVersion: String(listRv),
        ...(more && { continue: Buffer.from(JSON.stringify({ rv: listRv, start: last })).toString("base64url"), remainingItemCount: remaining }),
      };
      return sendList(res, { apiVersion: kind.group ? `${kind.group}/${kind.version}` : kind.version, kind: `${kind.kind}List`, metadata }, page.map(([, o]) => o));
    }

    if (method === "GET") {
      const o = store.get(key(kind, namespace, nameInPath ?? ""));
      return o ? send(res, 200, o) : notFound(nameInPath ?? "");
    }

    if (method === "DELETE") {
      const gone = erase(kind, namespace, nameInPath ?? "");
      return gone ? send(res, 200, gone) : notFound(nameInPath ?? "");
    }

    let body: Json;
    const text = await readBody(req);
    const contentType = req.headers["content-type"] ?? "";
    writes.push({ method, path: url.split("?")[0] ?? "", contentType, body: text });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return status(res, 400, "BadRequest", "the request body is not JSON");
    }

    if (method === "PATCH") {
      const current = store.get(key(kind, namespace, nameInPath ?? ""));
      if (!current) return notFound(nameInPath ?? "");
      if (contentType.startsWith("application/json-patch+json")) {
        const error = fastJsonPatch.validate(parsed as fastJsonPatch.Operation[], current);
        if (error) return status(res, 422, "Invalid", `the server rejected our request due to an error in our request: ${error.name}: ${error.message.split("\n")[0]}`);
        body = fastJsonPatch.applyPatch(structuredClone(current), parsed as fastJsonPatch.Operation[], false, false).newDocument as Json;
      } else if (contentType.startsWith("application/merge-patch+json")) {
        body = mergePatch(current, parsed) as Json;
      } else if (contentType.startsWith("application/strategic-merge-patch+json")) {
        // kubectl's default. Maps merge as in a merge patch; lists of objects with a name (the
        // patchMergeKey of containers, volumes, env) merge by name; other lists are replaced.
        // Directives ($patch, $retainKeys, ...) are not supported and refused.
        if (JSON.stringify(parsed).includes('"$')) return status(res, 422, "Invalid", "strategic merge patch directives are not supported by the test server");
        body = strategicMergePatch(current, parsed) as Json;
      } else {
        return status(res, 415, "UnsupportedMediaType", `the body of the request was in an unknown format: ${contentType}`);
      }
      const precondition = meta(body).resourceVersion;
      if (precondition !== undefined && precondition !== meta(current).resourceVersion) {
        return status(res, 409, "Conflict", `Operation cannot be fulfilled on ${kind.resource} "${nameInPath}": the object has been modified; please apply your changes to the latest version and try again`);
      }
    } else {
      body = parsed as Json;
    }

    const problems = kind.decode?.(body) ?? [];
    if (problems.length > 0) return status(res, 400, "BadRequest", problems.join("; "));
    const name = meta(body).name;
    if (typeof name !== "string" || name === "") return status(res, 422, "Invalid", `${kind.kind} is invalid: metadata.name: Required value`);
    const bodyNs = meta(body).namespace;
    if (kind.namespaced && bodyNs !== undefined && bodyNs !== namespace) {
      return status(res, 400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    }
    const object = { ...body, metadata: { ...meta(body), ...(kind.namespaced && { namespace }) } };
    const existing = store.get(key(kind, namespace, name));

    if (method === "POST") {
      if (existing) return status(res, 409, "AlreadyExists", `${kind.resource} "${name}" already exists`, { name, kind: kind.resource });
      return send(res, 201, write(kind, object));
    }
    if (method === "PUT" || method === "PATCH") {
      if (nameInPath !== name) return status(res, 400, "BadRequest", `the name of the object (${name}) does not match the name on the URL (${nameInPath})`);
      if (!existing) return notFound(name);
      const want = meta(body).resourceVersion;
      if (method === "PUT" && want !== undefined && want !== meta(existing).resourceVersion) {
        return status(res, 409, "Conflict", `Operation cannot be fulfilled on ${kind.resource}${kind.group ? `.${kind.group}` : ""} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      return send(res, 200, write(kind, object));
    }
    return status(res, 405, "MethodNotAllowed", `${method} is not supported`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => status(res, 500, "InternalError", String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    listCalls,
    requests,
    denied,
    writes,
    kubeConfig(token = "test-token") {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
        users: [{ name: "fake", token }],
        contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
        currentContext: "fake",
      });
      return kc;
    },
    get: (kind, name, namespace) => store.get(key(kind, kind.namespaced ? namespace : undefined, name)),
    put: (kind, object) => write(kind, object),
    remove: (kind, name, namespace) => void erase(kind, kind.namespaced ? namespace : undefined, name),
    compact() {
      compactedAt = rv + 1;
      compactedRv = rv;
      events = [];
    },
    partition: (token) => void partitioned.add(token),
    heal: (token) => void partitioned.delete(token),
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    list: (kind, namespace) =>
      keysOf(kind.resource)
        .map((k) => store.get(k) as Json)
        .filter((o) => o !== undefined && (namespace === undefined || meta(o).namespace === namespace)),
    watchers: () => watchers.size,
    endWatches() {
      for (const w of watchers) w.res.end();
      watchers.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of watchers) w.res.end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Write a kubeconfig file for a test API server at `url` (a child process or KUBECONFIG reads it). */
export function writeKubeconfig(path: string, url: string, token = "test-token"): string {
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fake", cluster: { server: url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "fake", user: { token } }],
      contexts: [{ name: "fake", context: { cluster: "fake", user: "fake" } }],
      "current-context": "fake",
    }),
  );
  return path;
}

/**
 * The defaults the real server fills in that clients read back: the StatefulSet's and DaemonSet's
 * update strategy (kubectl rollout status reads its type).
 */
function withDefaults(kind: Kind, o: Json): Json {
  const spec = o.spec as Json | undefined;
  if (spec === undefined || spec === null || typeof spec !== "object") return o;
  if ((kind.kind === "StatefulSet" || kind.kind === "DaemonSet") && spec.updateStrategy === undefined) {
    const rollingUpdate = kind.kind === "StatefulSet" ? { partition: 0 } : { maxUnavailable: 1, maxSurge: 0 };
    return { ...o, spec: { ...spec, updateStrategy: { type: "RollingUpdate", rollingUpdate } } };
  }
  return o;
}

/** A strategic merge patch without directives (see PATCH): maps merge, named lists merge by name. */
function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (Array.isArray(patch) && Array.isArray(target) && patch.every((p) => p !== null && typeof p === "object" && typeof (p as Json).name === "string")) {
    const out = [...target];
    for (const p of patch as Json[]) {
      const at = out.findIndex((t) => t !== null && typeof t === "object" && (t as Json).name === p.name);
      if (at < 0) out.push(p);
      else out[at] = strategicMergePatch(out[at], p);
    }
    return out;
  }
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Json = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = strategicMergePatch(out[k], v);
  }
  return out;
}

/** RFC 7396 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Json = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
