/**
 * What the audit reads from a cluster: namespaces, pods, the workloads that own pods, and the
 * webhook configurations. One table of sources serves both a one-shot snapshot (the audit and
 * explain commands) and watch-backed caches (GET /audit and /explain of the reports role). Lists
 * are read in pages of 500 (pager.ts) as plain JSON, and each object is trimmed to what the
 * reports read as it arrives (trim.ts), so memory follows the report, not the raw objects. API calls: list (and, for the caches, watch) namespaces, pods, replicasets,
 * deployments, statefulsets, daemonsets, jobs (cluster-wide), and mutatingwebhookconfigurations
 * when allowed (else the audit skips those checks). `explain -n NS` lists the same kinds in one
 * namespace and reads that Namespace by name, so a caller with namespace-scoped rights can use it.
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KubeApiError, NotFoundError } from "../errors.js";
import type { InformerCache } from "./informer-cache.js";
import { startPagedInformer } from "./paged-informer.js";
import { ApiRequestError, getJson, listInPages } from "./pager.js";
import { trimForReports } from "./trim.js";

type Json = Record<string, unknown>;

/** The API path listed (and watched) for each kind the audit reads. */
export const AUDIT_SOURCE_PATHS = {
  Namespace: "/api/v1/namespaces",
  Pod: "/api/v1/pods",
  ReplicaSet: "/apis/apps/v1/replicasets",
  Deployment: "/apis/apps/v1/deployments",
  StatefulSet: "/apis/apps/v1/statefulsets",
  DaemonSet: "/apis/apps/v1/daemonsets",
  Job: "/apis/batch/v1/jobs",
  MutatingWebhookConfiguration: "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
} as const;
type SourceKind = keyof typeof AUDIT_SOURCE_PATHS;

/** A source the audit can do without (its checks are skipped when it cannot be listed). */
const OPTIONAL: ReadonlySet<SourceKind> = new Set(["MutatingWebhookConfiguration"]);
const KINDS = Object.keys(AUDIT_SOURCE_PATHS) as SourceKind[];
const NAMESPACED: ReadonlySet<SourceKind> = new Set(["Pod", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job"]);

/** The path of a kind's list in one namespace: /api/v1/namespaces/NS/pods, /apis/apps/v1/namespaces/NS/… */
function namespacedPath(kind: SourceKind, namespace: string): string {
  const path = AUDIT_SOURCE_PATHS[kind];
  const at = path.lastIndexOf("/");
  return `${path.slice(0, at)}/namespaces/${encodeURIComponent(namespace)}${path.slice(at)}`;
}

export interface ClusterSnapshot {
  readonly objects: Json[];
  /** False when the webhook configurations could not be listed (forbidden): their checks are skipped. */
  readonly webhookConfigsListed: boolean;
  /** Why they could not be listed (the API server's answer), when it is known. */
  readonly webhookConfigsError?: string;
}

/** A failed list as one sentence: `list pods failed (HTTP 403): <the API server's message>`. */
function listFailure(what: string, err: unknown): { message: string; code: number | undefined } {
  if (err instanceof ApiRequestError) return { message: `${what} failed${err.httpStatus ? ` (HTTP ${err.httpStatus})` : ""}: ${err.detail}`, code: err.httpStatus };
  const code = (err as { code?: number }).code;
  const body = (err as { body?: unknown }).body;
  let detail = (err as Error).message;
  try {
    const status = typeof body === "string" ? (JSON.parse(body) as { message?: unknown }) : (body as { message?: unknown } | undefined);
    if (typeof status?.message === "string") detail = status.message;
  } catch {
    // not a Status body: keep the client's message
  }
  return { message: `${what} failed${code ? ` (HTTP ${code})` : ""}: ${detail}`, code };
}

/**
 * List everything once, in pages, each object trimmed to what the reports read as its page
 * arrives (trim.ts): cluster-wide, or in one namespace (its Namespace read by name). A namespace
 * that does not exist is a NotFoundError; any other refusal of a required source fails the whole
 * listing with the API server's answer.
 */
export async function listClusterObjects(kc: KubeConfig, namespace?: string, pageSize?: number): Promise<ClusterSnapshot> {
  const out: Json[] = [];
  let webhookConfigsError: string | undefined;
  for (const kind of KINDS) {
    const optional = OPTIONAL.has(kind);
    const what = kind === "Namespace" && namespace !== undefined ? `get namespace ${namespace}` : `list ${kind.toLowerCase()}s`;
    const mark = out.length;
    try {
      if (kind === "Namespace" && namespace !== undefined) {
        out.push(trimForReports(kind, await getJson(kc, `${AUDIT_SOURCE_PATHS.Namespace}/${encodeURIComponent(namespace)}`)));
        continue;
      }
      const path = namespace !== undefined && NAMESPACED.has(kind) ? namespacedPath(kind, namespace) : AUDIT_SOURCE_PATHS[kind];
      await listInPages(kc, path, {
        ...(pageSize !== undefined && { pageSize }),
        onPage: (items) => {
          for (const item of items) out.push(trimForReports(kind, item));
        },
        onRestart: () => void out.splice(mark),
      });
    } catch (err) {
      out.splice(mark);
      const failure = listFailure(what, err);
      if (optional) {
        webhookConfigsError = failure.message;
        continue;
      }
      if (failure.code === 404 && kind === "Namespace") throw new NotFoundError(`namespace ${namespace} not found`);
      throw new KubeApiError(failure.message, failure.code, err);
    }
  }
  return { objects: out, webhookConfigsListed: webhookConfigsError === undefined, ...(webhookConfigsError !== undefined && { webhookConfigsError }) };
}

export interface ClusterCaches {
  /**
   * The cached objects, or null until every required cache has synced. With a namespace, only
   * that Namespace, its objects and the webhook configurations are copied out.
   */
  snapshot(namespace?: string): ClusterSnapshot | null;
  /** How many objects the caches hold, by kind (a gauge for memory sizing). */
  sizes(): Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

/** Caches of some kinds that the process already keeps (one watch per kind): used, not stopped, here. */
export type SharedCaches = Partial<Record<SourceKind, InformerCache<KubernetesObject>>>;

/** Keep everything in watch-backed caches, listed in pages and trimmed (for GET /audit and /explain). */
export async function startClusterCaches(kc: KubeConfig, logger: Logger, shared: SharedCaches = {}, opts: { pageSize?: number; retryMs?: number } = {}): Promise<ClusterCaches> {
  const caches: Array<[SourceKind, InformerCache<KubernetesObject>]> = [];
  const owned: Array<InformerCache<KubernetesObject>> = [];
  for (const kind of KINDS) {
    let cache = shared[kind];
    if (cache === undefined) {
      cache = (await startPagedInformer(kc, `${kind.toLowerCase()}s`, AUDIT_SOURCE_PATHS[kind], logger, {
        transform: (o) => trimForReports(kind, o),
        ...opts,
      })) as InformerCache<KubernetesObject>;
      owned.push(cache);
    }
    caches.push([kind, cache]);
  }
  return {
    snapshot(namespace) {
      if (caches.some(([kind, cache]) => !OPTIONAL.has(kind) && !cache.isSynced())) return null;
      const inScope = (kind: SourceKind, o: KubernetesObject): boolean =>
        namespace === undefined ||
        kind === "MutatingWebhookConfiguration" ||
        (kind === "Namespace" ? o.metadata?.name === namespace : o.metadata?.namespace === namespace);
      // Objects the paged caches hold are already plain and trimmed; a shared cache's (the
      // namespace watch) come from client-node's models and are made plain here.
      const objects = caches.flatMap(([kind, cache]) => {
        const own = owned.includes(cache);
        return cache.list().flatMap((o) => (inScope(kind, o) ? [own ? (o as unknown as Json) : trimForReports(kind, plain(o))] : []));
      });
      const missing = caches.find(([kind, cache]) => OPTIONAL.has(kind) && !cache.isSynced());
      if (missing === undefined) return { objects, webhookConfigsListed: true };
      const [kind, cache] = missing;
      const why = cache.lastError?.() ?? "not listed yet";
      return { objects, webhookConfigsListed: false, webhookConfigsError: `list ${kind.toLowerCase()}s failed: ${why}` };
    },
    sizes() {
      return Object.fromEntries(caches.map(([kind, cache]) => [kind, cache.list().length]));
    },
    async stop() {
      await Promise.all(owned.map((cache) => cache.stop()));
    },
  };
}

function plain(item: unknown): Json {
  return JSON.parse(JSON.stringify(item)) as Json;
}
