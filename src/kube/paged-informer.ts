/**
 * A watch-backed cache for large kinds (the reports' pods, ReplicaSets, workloads): list in pages
 * (pager.ts), watch from the list's resourceVersion, and keep of each object only what `transform`
 * returns (trim.ts), both for listed objects and for every watch event, so the cache's memory
 * follows the fields the reports read, not whole objects.
 *
 * - The watch asks for bookmarks and ends after a few minutes (as client-go's reflector does); it
 *   is opened again from the last resourceVersion seen.
 * - A 410 Gone (the resourceVersion was compacted) or a failed watch lists again; the objects
 *   already cached stay readable while the list runs, and those the new list no longer holds are
 *   dropped at its end.
 * - Until the first list has completed the cache is "not synced" (empty to readers).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { InformerCache } from "./informer-cache.js";
import { DEFAULT_PAGE_SIZE, listInPages } from "./pager.js";

type Json = Record<string, unknown>;

export interface PagedInformerOptions {
  /** What to keep of each object (its kind is passed, list items have none). */
  readonly transform: (o: Json) => Json;
  readonly pageSize?: number;
  /** Wait before listing again after a failure (RBAC, network). */
  readonly retryMs?: number;
  /** Server-side watch length, in seconds, before it is opened again (jittered up to twice this). */
  readonly watchSeconds?: number;
}

const keyOf = (o: Json): string => {
  const m = (o.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  return `${typeof m.namespace === "string" ? m.namespace : ""}/${typeof m.name === "string" ? m.name : ""}`;
};

export async function startPagedInformer(kc: KubeConfig, what: string, path: string, logger: Logger, opts: PagedInformerOptions): Promise<InformerCache<Json>> {
  const { Watch } = await import("@kubernetes/client-node");
  const watcher = new Watch(kc);
  const store = new Map<string, Json>();
  const retryMs = opts.retryMs ?? 10_000;
  const watchSeconds = opts.watchSeconds ?? 300;
  let synced = false;
  let stopped = false;
  let lastError: string | undefined;
  let resourceVersion: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let abort: { abort(): void } | undefined;

  const later = (fn: () => void, ms: number): void => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
    timer.unref();
  };
  const fail = (err: unknown, during: string): void => {
    if (stopped) return;
    lastError = (err as Error)?.message ?? String(err);
    logger.warn({ cache: what, during, err: lastError, retryMs }, "cache list or watch failed; listing again");
    later(() => void relist(), retryMs);
  };

  const relist = async (): Promise<void> => {
    if (stopped) return;
    let seen = new Set<string>();
    try {
      const result = await listInPages(kc, path, {
        pageSize: opts.pageSize ?? DEFAULT_PAGE_SIZE,
        onPage: (items) => {
          for (const item of items) {
            const kept = opts.transform(item);
            const key = keyOf(kept);
            store.set(key, kept);
            seen.add(key);
          }
        },
        onRestart: () => {
          seen = new Set();
        },
      });
      for (const key of store.keys()) if (!seen.has(key)) store.delete(key);
      resourceVersion = result.resourceVersion;
      if (!synced) logger.info({ cache: what, objects: store.size, pages: result.pages }, "cache synced");
      synced = true;
      lastError = undefined;
    } catch (err) {
      fail(err, "list");
      return;
    }
    void watch();
  };

  const watch = async (): Promise<void> => {
    if (stopped) return;
    let expired = false;
    const seconds = watchSeconds + Math.floor(Math.random() * watchSeconds);
    try {
      abort = await watcher.watch(
        path,
        { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: seconds },
        (type: string, object: Json) => {
          const rv = ((object?.metadata ?? {}) as { resourceVersion?: unknown }).resourceVersion;
          if (type === "ERROR") {
            expired = (object as { code?: unknown })?.code === 410;
            if (!expired) lastError = String((object as { message?: unknown })?.message ?? "watch error");
            abort?.abort();
            return;
          }
          if (typeof rv === "string") resourceVersion = rv;
          if (type === "BOOKMARK") return;
          if (type === "DELETED") store.delete(keyOf(object));
          else if (type === "ADDED" || type === "MODIFIED") {
            const kept = opts.transform(object);
            store.set(keyOf(kept), kept);
          }
        },
        (err: unknown) => {
          if (stopped) return;
          if (expired || (err as { statusCode?: unknown } | null)?.statusCode === 410) {
            logger.info({ cache: what }, "watch expired (410 Gone): listing again");
            void relist();
          } else if (err) fail(err, "watch");
          else later(() => void watch(), 0); // the server ended the watch: open it again where it stopped
        },
      );
    } catch (err) {
      fail(err, "watch");
    }
  };

  void relist();
  return {
    list: () => (synced ? [...store.values()] : []),
    get: (name, namespace) => (synced ? store.get(`${namespace ?? ""}/${name}`) : undefined),
    isSynced: () => synced,
    lastError: () => lastError,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      abort?.abort();
    },
  };
}
