/**
 * What the audit reads from a cluster: namespaces, pods, the workloads that own pods, and the
 * webhook configurations. One table of sources serves both a one-shot snapshot (the audit
 * command) and watch-backed caches (GET /audit on a running injector). Objects come back as plain
 * JSON (the client's models use the wire field names; a JSON round trip turns timestamps into
 * strings). API calls: list (and, for the caches, watch) namespaces, pods, replicasets,
 * deployments, statefulsets, daemonsets, jobs (cluster-wide), and mutatingwebhookconfigurations
 * when allowed (else the audit skips those checks).
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KubeApiError } from "../errors.js";
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

async function sources(kc: KubeConfig): Promise<Source[]> {
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
  return [
    s("Namespace", () => core.listNamespace()),
    s("Pod", () => core.listPodForAllNamespaces()),
    s("ReplicaSet", () => apps.listReplicaSetForAllNamespaces()),
    s("Deployment", () => apps.listDeploymentForAllNamespaces()),
    s("StatefulSet", () => apps.listStatefulSetForAllNamespaces()),
    s("DaemonSet", () => apps.listDaemonSetForAllNamespaces()),
    s("Job", () => batch.listJobForAllNamespaces()),
    s("MutatingWebhookConfiguration", () => admission.listMutatingWebhookConfiguration(), true),
  ];
}

function plain(item: unknown, kind: string): Json {
  return { ...(JSON.parse(JSON.stringify(item)) as Json), kind };
}

export interface ClusterSnapshot {
  readonly objects: Json[];
  /** False when the webhook configurations could not be listed (forbidden): their checks are skipped. */
  readonly webhookConfigsListed: boolean;
}

/** List everything once. */
export async function listClusterObjects(kc: KubeConfig): Promise<ClusterSnapshot> {
  const out: Json[] = [];
  let webhookConfigsListed = true;
  for (const source of await sources(kc)) {
    let result: { items: unknown[] };
    try {
      result = await source.list();
    } catch (err) {
      if (source.optional) {
        webhookConfigsListed = false;
        continue;
      }
      const code = (err as { code?: number }).code;
      throw new KubeApiError(`list ${source.kind.toLowerCase()}s failed${code ? ` (HTTP ${code})` : ""}: ${(err as Error).message}`, code, err);
    }
    for (const item of result.items) out.push(plain(item, source.kind));
  }
  return { objects: out, webhookConfigsListed };
}

export interface ClusterCaches {
  /** The cached objects, or null until every required cache has synced. */
  snapshot(): ClusterSnapshot | null;
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
    snapshot() {
      if (caches.some(([source, cache]) => !source.optional && !cache.isSynced())) return null;
      const objects = caches.flatMap(([source, cache]) => cache.list().map((o) => plain(o, source.kind)));
      const webhookConfigsListed = caches.every(([source, cache]) => !source.optional || cache.isSynced());
      return { objects, webhookConfigsListed };
    },
    async stop() {
      await Promise.all(owned.map((cache) => cache.stop()));
    },
  };
}
