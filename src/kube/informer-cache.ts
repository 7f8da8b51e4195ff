/**
 * A watch-backed cache of one kind of object (a client-node informer: list, then watch from the
 * list's resourceVersion; re-list when the watch expires). It degrades gracefully: until it has
 * listed, or while it may not, it is "not synced" and the caller works without it; a failed watch
 * is retried.
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";

export interface InformerCache<T extends KubernetesObject> {
  list(): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  isSynced(): boolean;
  /** Why the last list or watch failed, until a list succeeds (a 403 names the missing right). */
  lastError?(): string | undefined;
  stop(): Promise<void>;
}

export interface InformerCacheOptions {
  /** Wait before starting again after the watch fails (RBAC, network). */
  readonly retryMs?: number;
  /** Only objects with these labels (k=v,...) / this name (metadata.name=...). */
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Called after every add, update or delete the watch delivers, and after each (re)list. */
  readonly onChange?: () => void;
  /** Called with each failed list or watch (it is retried after retryMs). */
  readonly onError?: (err: unknown) => void;
}

export async function startInformerCache<T extends KubernetesObject>(
  kc: KubeConfig,
  what: string,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  logger: Logger,
  opts: InformerCacheOptions = {},
): Promise<InformerCache<T>> {
  const { ListWatch, Watch } = await import("@kubernetes/client-node");
  let synced = false;
  let stopped = false;
  let lastError: string | undefined;
  // client-node's informer aborts on stop() only a watch already open: one still being opened
  // when stop() runs would outlive it (and keep the process alive), so it is closed as it opens.
  const watcher = new Watch(kc);
  const watch = {
    watch: async (...args: Parameters<InstanceType<typeof Watch>["watch"]>) => {
      const request = await watcher.watch(...args);
      if (stopped) request.abort();
      return request;
    },
  } as InstanceType<typeof Watch>;
  // The informer reports a failed list as an "error" event, not as a rejected start(): synced is
  // set by a list that succeeded.
  const informer = new ListWatch<T>(
    path,
    watch,
    async () => {
      const result = await list();
      // The informer stores the listed objects after this function's promise settles, in the
      // microtasks that follow; a macrotask (setImmediate) runs only once those have all run, so
      // readers called from here see what was listed, never the empty cache before it.
      setImmediate(() => {
        if (!synced) logger.info({ cache: what, objects: result.items.length }, "cache synced");
        synced = true;
        lastError = undefined;
        opts.onChange?.();
      });
      return result;
    },
    false,
    opts.labelSelector,
    opts.fieldSelector,
  );
  if (opts.onChange) {
    // The first list's objects arrive as "add" events while they are being stored, before the
    // cache counts as synced: the callback after the list (above) stands for all of them.
    const changed = () => {
      if (synced) opts.onChange?.();
    };
    informer.on("add", changed);
    informer.on("update", changed);
    informer.on("delete", changed);
  }
  const retryMs = opts.retryMs ?? 10_000;
  let retry: NodeJS.Timeout | undefined;
  const start = (): void => {
    informer.start().catch(restart);
  };
  const restart = (err: unknown): void => {
    if (stopped) return;
    lastError = (err as Error)?.message ?? String(err);
    logger.warn({ cache: what, err: (err as Error)?.message ?? String(err), retryMs }, "watch failed; retrying");
    opts.onError?.(err);
    clearTimeout(retry);
    retry = setTimeout(start, retryMs);
    retry.unref();
  };
  informer.on("error", restart);
  start();
  return {
    list: () => (synced ? informer.list() : []),
    get: (name, namespace) => (synced ? informer.get(name, namespace) : undefined),
    isSynced: () => synced,
    lastError: () => lastError,
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await informer.stop();
    },
  };
}
