/**
 * Namespace labels from a watch (see informer-cache.ts). The admission path reads it and never
 * calls the API server; until it has synced, or if the injector may not list namespaces, lookups
 * answer "unknown" and the webhook works without namespace facts.
 */
import type { KubeConfig, V1Namespace } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { type InformerCache, type InformerCacheOptions, startInformerCache } from "./informer-cache.js";

export interface NamespaceCache {
  /** The namespace's labels; undefined when unknown (not synced, or no such namespace). */
  labelsOf(name: string): Readonly<Record<string, string>> | undefined;
  /** The watch behind it, for other readers of namespaces in this process (one watch per kind). */
  readonly informer: InformerCache<V1Namespace>;
  isSynced(): boolean;
  stop(): Promise<void>;
}

export async function startNamespaceCache(kc: KubeConfig, logger: Logger, opts: InformerCacheOptions = {}): Promise<NamespaceCache> {
  const { CoreV1Api } = await import("@kubernetes/client-node");
  const core = kc.makeApiClient(CoreV1Api);
  const cache = await startInformerCache<V1Namespace>(kc, "namespaces", "/api/v1/namespaces", () => core.listNamespace(), logger, opts);
  return {
    labelsOf: (name) => cache.get(name)?.metadata?.labels,
    informer: cache,
    isSynced: cache.isSynced,
    stop: cache.stop,
  };
}
