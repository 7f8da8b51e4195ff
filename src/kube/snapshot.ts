/**
 * What the audit reads from a cluster: namespaces, pods, the workloads that own pods, and the
 * webhook configurations. One table of sources serves both a one-shot snapshot (the audit
 * command) and watch-backed caches (GET /audit on a running injector). Objects come back as plain
 * JSON (the client's models use the wire field names; a JSON round trip turns timestamps into
 * strings). API calls: list (and, for the caches, watch) namespaces, pods, replicasets,
 * deployments, statefulsets, daemonsets, jobs (cluster-wide), and mutatingwebhookconfigurations
 * when allowed (else the audit skips those checks). `explain -n NS` lists the same kinds in one
 * namespace and reads that Namespace by name, so a caller with namespace-scoped rights can use it.
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KubeApiError, NotFoundError } from "../errors.js";
import { type InformerCache, startInformerCache } from "./informer-cache.js";

type Json = Record<string, unknown>;
type Lister = () => Promise<KubernetesListObject<KubernetesObject>>;

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

interface Source {
  readonly kind: string;
  readonly path: string;
  /** A source the audit can do without (its checks are skipped when it cannot be listed). */
  readonly optional: boolean;
  readonly list: Lister;
}

/** The sources, cluster-wide or (for `explain -n NS`) in one namespace, which a namespace-scoped caller can list. */
async function sources(kc: KubeConfig, namespace?: string): Promise<Source[]> {
  const k8s = await import("@kubernetes/client-node");
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const s = (kind: keyof typeof AUDIT_SOURCE_PATHS, list: () => Promise<unknown>, optional = false): Source => ({
    kind,
    path: AUDIT_SOURCE_PATHS[kind],
    optional,
    list: list as Lister,
  });
  const webhooks = s("MutatingWebhookConfiguration", () => admission.listMutatingWebhookConfiguration(), true);
  if (namespace !== undefined) {
    const ns = { namespace };
    return [
      s("Namespace", async () => ({ items: [await core.readNamespace({ name: namespace })] })),
      s("Pod", () => core.listNamespacedPod(ns)),
      s("ReplicaSet", () => apps.listNamespacedReplicaSet(ns)),
      s("Deployment", () => apps.listNamespacedDeployment(ns)),
      s("StatefulSet", () => apps.listNamespacedStatefulSet(ns)),
      s("DaemonSet", () => apps.listNamespacedDaemonSet(ns)),
      s("Job", () => batch.listNamespacedJob(ns)),
      webhooks,
    ];
  }
  return [
    s("Namespace", () => core.listNamespace()),
    s("Pod", () => core.listPodForAllNamespaces()),
    s("ReplicaSet", () => apps.listReplicaSetForAllNamespaces()),
    s("Deployment", () => apps.listDeploymentForAllNamespaces()),
    s("StatefulSet", () => apps.listStatefulSetForAllNamespaces()),
    s("DaemonSet", () => apps.listDaemonSetForAllNamespaces()),
    s("Job", () => batch.listJobForAllNamespaces()),
    webhooks,
  ];
}

function plain(item: unknown, kind: string): Json {
  return { ...(JSON.parse(JSON.stringify(item)) as Json), kind };
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
 * List everything once: cluster-wide, or in one namespace (its Namespace read by name). A
 * namespace that does not exist is a NotFoundError; any other refusal of a required source fails
 * the whole listing with the API server's answer.
 */
export async function listClusterObjects(kc: KubeConfig, namespace?: string): Promise<ClusterSnapshot> {
  const out: Json[] = [];
  let webhookConfigsError: string | undefined;
  for (const source of await sources(kc, namespace)) {
    let result: { items: unknown[] };
    try {
      result = await source.list();
    } catch (err) {
      const what = source.kind === "Namespace" && namespace !== undefined ? `get namespace ${namespace}` : `list ${source.kind.toLowerCase()}s`;
      const failure = listFailure(what, err);
      if (source.optional) {
        webhookConfigsError = failure.message;
        continue;
      }
      if (failure.code === 404 && source.kind === "Namespace") throw new NotFoundError(`namespace ${namespace} not found`);
      throw new KubeApiError(failure.message, failure.code, err);
    }
    for (const item of result.items) out.push(plain(item, source.kind));
  }
  return { objects: out, webhookConfigsListed: webhookConfigsError === undefined, ...(webhookConfigsError !== undefined && { webhookConfigsError }) };
}

export interface ClusterCaches {
  /**
   * The cached objects, or null until every required cache has synced. With a namespace, only
   * that Namespace, its objects and the webhook configurations are copied out.
   */
  snapshot(namespace?: string): ClusterSnapshot | null;
  stop(): Promise<void>;
}

/** Caches of some kinds that the process already keeps (one watch per kind): used, not stopped, here. */
export type SharedCaches = Partial<Record<keyof typeof AUDIT_SOURCE_PATHS, InformerCache<KubernetesObject>>>;

/** Keep everything in watch-backed caches (for GET /audit). */
export async function startClusterCaches(kc: KubeConfig, logger: Logger, shared: SharedCaches = {}): Promise<ClusterCaches> {
  const caches: Array<[Source, InformerCache<KubernetesObject>]> = [];
  const owned: Array<InformerCache<KubernetesObject>> = [];
  for (const source of await sources(kc)) {
    let cache = shared[source.kind as keyof SharedCaches];
    if (cache === undefined) {
      cache = await startInformerCache(kc, `${source.kind.toLowerCase()}s`, source.path, source.list, logger);
      owned.push(cache);
    }
    caches.push([source, cache]);
  }
  return {
    snapshot(namespace) {
      if (caches.some(([source, cache]) => !source.optional && !cache.isSynced())) return null;
      const inScope = (source: Source, o: KubernetesObject): boolean =>
        namespace === undefined ||
        source.kind === "MutatingWebhookConfiguration" ||
        (source.kind === "Namespace" ? o.metadata?.name === namespace : o.metadata?.namespace === namespace);
      const objects = caches.flatMap(([source, cache]) => cache.list().flatMap((o) => (inScope(source, o) ? [plain(o, source.kind)] : [])));
      const missing = caches.find(([source, cache]) => source.optional && !cache.isSynced());
      if (missing === undefined) return { objects, webhookConfigsListed: true };
      const [source, cache] = missing;
      const why = cache.lastError?.() ?? "not listed yet";
      return { objects, webhookConfigsListed: false, webhookConfigsError: `list ${source.kind.toLowerCase()}s failed: ${why}` };
    },
    async stop() {
      await Promise.all(owned.map((cache) => cache.stop()));
    },
  };
}
