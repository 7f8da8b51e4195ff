/**
 * Istio's two ConfigMaps for `istio.fromCluster`: the injector's (`data.values`) and the mesh's
 * (`data.mesh`), each from a watch scoped to its namespace and its name (informer-cache.ts: list,
 * then watch from the list's resourceVersion; a watch the server ends is opened again where it
 * stopped, a 410 Gone lists again, a failed list or watch is retried after `retryMs`).
 *
 * `startIstioConfigMapWatch` resolves once both have been listed (an absent ConfigMap is a valid
 * answer: undefined), and rejects when a first list fails, so `serve` never starts injecting with
 * settings it was told not to use. After that every change of either one's data is handed over;
 * the caller builds and checks the configuration from it.
 */
import type { KubeConfig, V1ConfigMap } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { type IstioClusterSource, type IstioConfigMaps, configMapName } from "../config/load-config.js";
import { KubeApiError } from "../errors.js";
import { type InformerCache, startInformerCache } from "./informer-cache.js";
import { byName, call } from "./objects.js";

export interface IstioConfigMapWatchOptions {
  /** Each change of either ConfigMap's data (created, edited, deleted), after the first read. */
  readonly onChange: (maps: IstioConfigMaps) => void;
  /** Wait before listing or watching again after a failure. */
  readonly retryMs?: number;
  /** The first read's deadline, each list call's too. */
  readonly timeoutMs?: number;
}

export interface IstioConfigMapWatch {
  /** The ConfigMaps as last seen. */
  current(): IstioConfigMaps;
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export async function startIstioConfigMapWatch(kc: KubeConfig, source: IstioClusterSource, logger: Logger, opts: IstioConfigMapWatchOptions): Promise<IstioConfigMapWatch> {
  const { CoreV1Api } = await import("@kubernetes/client-node");
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace } = source;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const log = logger.child({ component: "istio-configmaps", namespace });
  let started = false;
  let seen = "";
  let settle: { resolve(): void; reject(err: Error): void } | undefined;
  const first = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });

  const caches: Array<InformerCache<V1ConfigMap>> = [];
  const current = (): IstioConfigMaps => ({
    injector: caches[0]?.get(source.injectorConfigMap, namespace),
    mesh: caches[1]?.get(source.meshConfigMap, namespace),
  });
  /** Only the data matters: a change of labels or annotations re-renders nothing. */
  const fingerprint = (maps: IstioConfigMaps): string =>
    JSON.stringify([maps.injector === undefined ? null : ((maps.injector as V1ConfigMap).data ?? {}), maps.mesh === undefined ? null : ((maps.mesh as V1ConfigMap).data ?? {})]);
  const changed = (): void => {
    if (caches.length < 2 || !caches.every((c) => c.isSynced())) return;
    const maps = current();
    const print = fingerprint(maps);
    if (!started) {
      started = true;
      seen = print;
      settle?.resolve();
      return;
    }
    if (print === seen) return;
    seen = print;
    opts.onChange(maps);
  };
  const failed = (name: string) => (err: unknown) => {
    if (started) return;
    const status = (err as { code?: unknown; statusCode?: unknown }) ?? {};
    const code = typeof status.code === "number" ? status.code : typeof status.statusCode === "number" ? status.statusCode : undefined;
    settle?.reject(new KubeApiError(`cannot read ${configMapName(namespace, name)} (istio.fromCluster): ${(err as Error)?.message ?? String(err)}`, code, err));
  };

  for (const name of [source.injectorConfigMap, source.meshConfigMap]) {
    caches.push(
      await startInformerCache<V1ConfigMap>(
        kc,
        `${configMapName(namespace, name)}`,
        `/api/v1/namespaces/${namespace}/configmaps`,
        () => call(`list configmaps ${namespace} (${name})`, timeoutMs, () => core.listNamespacedConfigMap({ namespace, fieldSelector: byName(name) })),
        log,
        { fieldSelector: byName(name), onChange: changed, onError: failed(name), ...(opts.retryMs !== undefined && { retryMs: opts.retryMs }) },
      ),
    );
  }
  const stop = async (): Promise<void> => {
    await Promise.all(caches.map((c) => c.stop().catch(() => undefined)));
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KubeApiError(`cannot read the ConfigMaps of istio.fromCluster in ${namespace} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([first, deadline]);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { current, stop };
}
