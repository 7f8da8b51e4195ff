/**
 * A watch-backed cache of namespace labels (an informer: list, then watch from the list's
 * resourceVersion; re-list when the watch expires). The admission path reads it and never calls
 * the API server. It degrades gracefully: until it has synced, or if the injector may not list
 * namespaces, lookups answer "unknown" and the webhook works without namespace facts.
 */
import type { KubeConfig, V1Namespace } from "@kubernetes/client-node";
import type { Logger } from "pino";

export interface NamespaceCache {
  /** The namespace's labels; undefined when unknown (not synced, or no such namespace). */
  labelsOf(name: string): Readonly<Record<string, string>> | undefined;
  isSynced(): boolean;
  stop(): Promise<void>;
}

export interface NamespaceCacheOptions {
  /** Wait before starting again after the watch fails (RBAC, network). */
  readonly retryMs?: number;
}

export async function startNamespaceCache(kc: KubeConfig, logger: Logger, opts: NamespaceCacheOptions = {}): Promise<NamespaceCache> {
  const { CoreV1Api, makeInformer } = await import("@kubernetes/client-node");
  const core = kc.makeApiClient(CoreV1Api);
  let synced = false;
  // The informer reports a failed list as an "error" event, not as a rejected start(): synced is
  // set by a list that succeeded.
  const informer = makeInformer<V1Namespace>(kc, "/api/v1/namespaces", async () => {
    const list = await core.listNamespace();
    if (!synced) logger.info({ namespaces: list.items.length }, "namespace cache synced");
    synced = true;
    return list;
  });
  const retryMs = opts.retryMs ?? 10_000;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  const start = (): void => {
    informer.start().catch(restart);
  };
  const restart = (err: unknown): void => {
    if (stopped) return;
    logger.warn({ err: (err as Error)?.message ?? String(err), retryMs }, "namespace watch failed; namespace labels unknown until it recovers");
    clearTimeout(retry);
    retry = setTimeout(start, retryMs);
    retry.unref();
  };
  informer.on("error", restart);
  start();

  return {
    labelsOf(name: string) {
      if (!synced) return undefined;
      return informer.get(name)?.metadata?.labels;
    },
    isSynced: () => synced,
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await informer.stop();
    },
  };
}
