/**
 * The composition root of `sidecar-injector serve`: load config → learn the cluster (optional) →
 * certificates → app → HTTPS server → watchers → signal handlers. Nothing else lives here.
 */
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { type Config, reportsServiceName } from "./config/config.js";
import { watchConfigFile } from "./config/config-watcher.js";
import { type ConfigFlags, type IstioConfigMaps, istioClusterSourceOf, loadConfig, parseConfigText } from "./config/load-config.js";
import { type IstioFiles, readIstioFiles } from "./command-io.js";
import { ConfigError } from "./errors.js";
import { createApp } from "./http/app.js";
import { type PageAssets, loadPageAssets } from "./http/page-route.js";
import { createDelegatedAuth } from "./http/delegated-auth.js";
import { createAccessReviewer } from "./kube/access-review.js";
import { createPreviewPool } from "./preview/preview-pool.js";
import { ReplayCache } from "./admission/replay-cache.js";
import { type Lifecycle, type ServerHandle, startServer } from "./http/server.js";
import type { InjectionContext } from "./injection/pipeline.js";
import { compileTemplate } from "./injection/template.js";
import type { KubeConfig } from "@kubernetes/client-node";
import { type ClusterAccess, clusterAccessFrom, kubeConfigFor, makeKubeClients } from "./kube/client.js";
import { fetchClusterVersion, supportsNativeSidecars } from "./kube/cluster-version.js";
import { type IstioConfigMapWatch, startIstioConfigMapWatch } from "./kube/istio-configmaps.js";
import { startNamespaceCache } from "./kube/namespace-cache.js";
import { startClusterCaches } from "./kube/snapshot.js";
import { type AuditReport, auditCluster } from "./audit/audit.js";
import { type ExplainReport, type ExplainTarget, explainCluster } from "./explain/cluster.js";
import { type Logger, createStdoutLogger } from "./log.js";
import { startMetricsServer } from "./http/metrics-server.js";
import { createMetrics } from "./metrics.js";
import { packageVersion } from "./version.js";
import { canonicalJson } from "./json-values.js";
import { type ResolvedTlsMode, replicaIdentity, resolveTlsMode, startServingCertificates } from "./tls/serving.js";

export interface ServeOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly flags: ConfigFlags;
  readonly configPath?: string | undefined;
  /** Istio's values and mesh configuration files (--istio-values, --mesh-config), read once at startup. */
  readonly istioFiles?: IstioFiles | undefined;
}

export interface RunningInjector {
  readonly config: Config;
  readonly server: ServerHandle;
  readonly logger: Logger;
  /** Drain and stop everything. */
  stop(deadlineMs?: number, drainDelayMs?: number): Promise<{ timedOut: boolean }>;
}

const CLUSTER_VERSION_TIMEOUT_MS = 5_000;
/** How often the in-server audit refreshes its metrics when GET /audit is on. */
const AUDIT_INTERVAL_MS = 5 * 60_000;

async function learnNativeSidecarSupport(
  config: Config,
  kc: KubeConfig | null,
  logger: Logger,
): Promise<boolean | undefined> {
  if (config.nativeSidecars !== "auto") return undefined;
  if (kc === null) {
    logger.info("no cluster configured: nativeSidecars=auto resolves to off");
    return undefined;
  }
  try {
    const version = await fetchClusterVersion(await makeKubeClients(kc), CLUSTER_VERSION_TIMEOUT_MS);
    const native = supportsNativeSidecars(version);
    logger.info({ cluster: version.gitVersion, nativeSidecars: native }, "learned cluster version");
    return native;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, "cannot learn the cluster version: nativeSidecars=auto resolves to off");
    return undefined;
  }
}

/** Start the webhook server; resolves once it listens and is ready. */
export async function serve(opts: ServeOptions): Promise<RunningInjector> {
  const fileText = opts.configPath === undefined ? undefined : await readConfigFile(opts.configPath);
  const istio = await readIstioFiles(opts.istioFiles);
  const source = opts.configPath ?? "config";
  const parse = (text: string | undefined): unknown => (text === undefined ? undefined : parseConfigText(text, source));
  // istio.fromCluster: Istio's ConfigMaps, read before anything is served and watched after.
  const fileContent = parse(fileText);
  const clusterSource = istioClusterSourceOf(fileContent, source);
  const access = clusterAccessFrom(opts.env);
  let istioMaps: IstioConfigMaps | undefined;
  let istioWatch: IstioConfigMapWatch | undefined;
  let kc: KubeConfig | null | undefined;
  if (clusterSource !== undefined) {
    kc = await kubeConfigFor(access).catch((err: unknown) => {
      throw new ConfigError([`${source}: istio.fromCluster reads the cluster, whose configuration cannot be loaded: ${(err as Error).message}`]);
    });
    if (kc === null) throw new ConfigError([`${source}: istio.fromCluster reads the cluster: run in a pod, or set KUBECONFIG`]);
  }
  // Where our settings and Istio's disagree (ours win): logged once per load.
  let notices: string[] = [];
  // Values accepted that cannot do what they say: logged at each load.
  let warnings: string[] = [];
  const build = (text: string | undefined): Config => {
    notices = [];
    warnings = [];
    return loadConfig({
      env: opts.env,
      flags: opts.flags,
      notices,
      warnings,
      ...(istio && { istio }),
      ...(istioMaps && { fromCluster: istioMaps }),
      ...(text !== undefined && { file: { content: parse(text), source } }),
    });
  };
  let config: Config;
  let logger: Logger;
  // A change of Istio's ConfigMaps before the configuration's swap is wired (below) is kept for it.
  let changedEarly = false;
  let onIstioConfigMaps = (maps: IstioConfigMaps): void => {
    istioMaps = maps;
    changedEarly = true;
  };
  if (clusterSource === undefined || !kc) {
    config = build(fileText);
    logger = createStdoutLogger(config.server.logLevel);
  } else {
    // server.logLevel is never one of Istio's settings: the file without its istio block gives it.
    const withoutIstio = loadConfig({ env: opts.env, flags: opts.flags, file: { content: { ...(fileContent as object), istio: undefined }, source } });
    logger = createStdoutLogger(withoutIstio.server.logLevel);
    const watch = await startIstioConfigMapWatch(kc, clusterSource, logger, { onChange: (maps) => onIstioConfigMaps(maps) });
    istioWatch = watch;
    istioMaps = watch.current();
    try {
      config = build(fileText);
    } catch (err) {
      await watch.stop();
      throw err;
    }
    logger.info({ ...clusterSource }, "Istio's settings come from the cluster's ConfigMaps (istio.fromCluster), watched");
  }
  for (const n of notices) logger.info({ setting: n.split(":")[0] }, `our setting wins over Istio's: ${n}`);
  const logWarnings = (): void => {
    for (const w of warnings) logger.warn(`configuration: ${w}`);
  };
  logWarnings();
  const lifecycle: Lifecycle = { ready: false, draining: false };

  if (kc === undefined) kc = await loadKubeConfig(access, logger);
  const native = await learnNativeSidecarSupport(config, kc, logger);
  // What this replica serves (server.role): admission, the reports, or both.
  const role = config.server.role;
  const admissionOn = role !== "reports";
  const reportsOn = role === "reports" || (role === "all" && config.auditEndpoint);
  if (role === "reports" && kc === null) {
    throw new ConfigError(["server.role reports reads the cluster: run it in a pod, or set KUBECONFIG"]);
  }
  if (role === "webhook" && config.auditEndpoint) {
    logger.warn("auditEndpoint is on, but server.role is webhook: GET /audit and /explain are served by the reports role (serve --role reports)");
  }
  if (role === "all" && reportsOn && kc !== null) {
    logger.warn("GET /audit and /explain share this process with admission: their caches grow with the cluster's pods. In a cluster, run them as their own role (serve --role reports, manifests/base/reports.yaml)");
  }
  // Namespace labels for the admission path come from a watch, never from a call per request.
  const namespaces = kc === null || !admissionOn ? null : await startNamespaceCache(kc, logger);
  const namespaceLabels = namespaces === null ? undefined : (name: string) => namespaces.labelsOf(name);
  const contextFor = (c: Config): InjectionContext => ({
    template: compileTemplate(c),
    clusterSupportsNativeSidecars: native,
    ...(namespaceLabels && { namespaceLabels }),
  });
  let context = contextFor(config);

  const metrics = createMetrics(packageVersion(), { process: true });
  let server: ServerHandle | undefined;
  const certs = await startServingCertificates({
    ...servingFor(config, resolveTlsMode(config.tls.mode, access), logger),
    kc,
    identity: replicaIdentity(opts.env),
    logger,
    metrics,
    onChange: (m) => server?.setCertificate(m),
  });
  const servedCa = () => certs.material()?.caCert || undefined;
  // GET /audit: the same audit as the CLI, from watch-backed caches (read-only, off by default).
  const clusterCaches = reportsOn && kc !== null ? await startClusterCaches(kc, logger, { ...(namespaces && { Namespace: namespaces.informer }) }) : null;
  if (reportsOn && kc === null) logger.warn("auditEndpoint is on but no cluster is configured: GET /audit stays off");
  const audit = (): AuditReport | null => {
    const snapshot = clusterCaches?.snapshot();
    if (!snapshot) return null;
    const report = auditCluster(snapshot.objects, {
      template: context.template,
      servedCa: servedCa(),
      webhookConfigsListed: snapshot.webhookConfigsListed,
    });
    metrics.setAuditFindings(report.summary.findings);
    return report;
  };
  if (clusterCaches !== null) setInterval(() => audit(), AUDIT_INTERVAL_MS).unref();
  // GET /explain: the CLI's live explain, from the same caches.
  const explain = (target: ExplainTarget): ExplainReport | null => {
    const snapshot = clusterCaches?.snapshot(target.namespace ?? undefined);
    if (!snapshot) return null;
    return explainCluster(snapshot.objects, target, {
      context,
      servedCa: servedCa(),
      webhookConfigsListed: snapshot.webhookConfigsListed,
      webhookConfigsError: snapshot.webhookConfigsError,
    });
  };
  const health = {
    ready: () => lifecycle.ready && certs.readiness().ready,
    draining: () => lifecycle.draining,
    detail: () => (lifecycle.draining ? "draining" : !lifecycle.ready ? "starting" : certs.readiness().reason),
  };
  metrics.setHealthSource(() => {
    const trusted = certs.readiness().caBundleTrusted;
    return { ready: health.ready(), caBundleTrusted: trusted === undefined ? null : { webhookConfiguration: config.tls.webhookConfigName, trusted } };
  });
  // Previews render in worker threads, never on the event loop that answers the API server.
  // Previews render in worker threads, never on the event loop that answers the API server; a
  // replica of the reports role serves none.
  const previews = admissionOn
    ? createPreviewPool({
        context: () => context,
        workers: config.preview.workers,
        queue: config.preview.queue,
        onWorkerError: (err) => logger.error({ err }, "preview worker failed"),
      })
    : null;
  // The preview page, read once, served where the previews are. Admission never waits on it: without
  // its built files the server starts all the same and says so.
  let page: PageAssets | undefined;
  if (previews !== null) {
    try {
      page = loadPageAssets(new URL("./page/", import.meta.url));
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "the preview page (GET /) is not served");
    }
  }
  const app = createApp({
    context: () => context,
    ...(previews !== null && { previews }),
    ...(page !== undefined && { page }),
    replay: new ReplayCache(),
    metrics,
    admission: admissionOn,
    // Cluster data only for callers the cluster's RBAC allows (TokenReview + SubjectAccessReview).
    ...(clusterCaches !== null && kc !== null && { audit: () => audit(), explain, authorize: createDelegatedAuth({ reviewer: createAccessReviewer(kc), logger }) }),
    logger,
    now: () => performance.now(),
    health,
    maxBodyBytes: () => context.template.config.server.maxBodyBytes,
  });
  const initial = certs.material();
  server = await startServer({
    app,
    tls: initial,
    port: config.server.port,
    host: config.server.host,
    logger,
    lifecycle,
  });

  // A pair that arrived while the listener was starting.
  const latest = certs.material();
  if (latest !== null && latest !== initial) server.setCertificate(latest);
  const metricsServer = config.server.metricsPort === null ? null : await startMetricsServer(metrics, health, config.server.metricsPort, config.server.host, logger);
  // The configuration in force: the file's text and Istio's ConfigMaps it was built from.
  let currentText = fileText;
  const apply = (next: Config): void => {
    const restartOnly = [
      ...(["role", "port", "host", "certDir", "metricsPort"] as const).filter((k) => next.server[k] !== config.server[k]).map((k) => `server.${k}`),
      ...(["workers", "queue"] as const).filter((k) => next.preview[k] !== config.preview[k]).map((k) => `preview.${k}`),
      ...(canonicalJson(next.tls) !== canonicalJson(config.tls) ? ["tls"] : []),
    ];
    if (restartOnly.length > 0) {
      logger.warn({ settings: restartOnly }, "these settings take effect on restart");
    }
    logWarnings();
    context = contextFor(next);
    metrics.configReload("success");
  };
  // A change of Istio's ConfigMaps rebuilds the whole configuration, as a new file does.
  onIstioConfigMaps = (maps) => {
    istioMaps = maps;
    try {
      apply(build(currentText));
      logger.info({ templateHash: context.template.hash }, "configuration reloaded: Istio's ConfigMaps changed");
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      logger.error({ problems }, "Istio's ConfigMaps changed, and the configuration they give is refused; keeping the current one");
      metrics.configReload("failure");
    }
  };
  if (changedEarly && istioMaps !== undefined) onIstioConfigMaps(istioMaps);
  const configWatch =
    opts.configPath === undefined || fileText === undefined
      ? undefined
      : watchConfigFile({
          path: opts.configPath,
          initialText: fileText,
          logger,
          build: (text) => {
            const changed = canonicalJson(istioClusterSourceOf(parse(text), source) ?? null) !== canonicalJson(clusterSource ?? null);
            if (changed && clusterSource === undefined) throw new ConfigError([`${source}: istio.fromCluster was added: Istio's ConfigMaps are read from the next start on`]);
            if (changed) logger.warn({ setting: "istio.fromCluster" }, "istio.fromCluster takes effect on restart: the ConfigMaps read since the start stay in use");
            const next = build(text);
            currentText = text;
            return next;
          },
          onChange: apply,
          onRejected: () => metrics.configReload("failure"),
        });

  lifecycle.ready = true;
  logger.info(
    { port: server.port, host: server.host, role, templateHash: context.template.hash, nativeSidecars: config.nativeSidecars, tls: certs.mode },
    "sidecar-injector listening",
  );
  logger.flush();
  return {
    config,
    server,
    logger,
    async stop(deadlineMs = config.server.shutdownDeadlineMs, drainDelayMs = config.server.shutdownDrainDelayMs) {
      configWatch?.close();
      await istioWatch?.stop();
      await namespaces?.stop().catch(() => undefined);
      await clusterCaches?.stop().catch(() => undefined);
      metricsServer?.close();
      const closed = await (server as ServerHandle).close(deadlineMs, drainDelayMs);
      await previews?.close();
      // After the listener: the leader releases its Lease and the heartbeat goes.
      await certs.stop().catch(() => undefined);
      return closed;
    },
  };
}

/**
 * The certificate a replica serves. The reports role never takes part in the webhook's
 * self-managed certificate (its leader election, its CA rotation, the caBundle): where the
 * webhook's replicas manage theirs, it makes its own pair at start (tls.mode local, in
 * server.certDir), named for its own Service, `<service.name>-reports`. A pair supplied as files
 * (cert-manager) is served as given.
 */
function servingFor(config: Config, mode: ResolvedTlsMode, logger: Logger): { config: Config; mode: ResolvedTlsMode } {
  if (config.server.role !== "reports") return { config, mode };
  const named: Config = { ...config, service: { ...config.service, name: reportsServiceName(config) } };
  if (mode === "self-managed") logger.info({ service: named.service.name }, "reports role: serving its own certificate (tls.mode local), not the webhook's");
  return { config: named, mode: mode === "files" ? "files" : "local" };
}

/** The cluster's KubeConfig, or null without a cluster (or with an unreadable KUBECONFIG, logged). */
async function loadKubeConfig(access: ClusterAccess, logger: Logger): Promise<KubeConfig | null> {
  try {
    return await kubeConfigFor(access);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, "cannot load the cluster configuration: running without a cluster");
    return null;
  }
}

async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError([`cannot read config file ${path}: ${(err as Error).message}`]);
  }
}

/**
 * Install SIGTERM/SIGINT handling once: the first signal drains (exit 0, or 1 when the deadline
 * forced connections closed); a second signal exits 1 at once.
 */
export function installShutdown(injector: RunningInjector, exit: (code: number) => void = process.exit): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      injector.logger.warn({ signal }, "second signal: exiting now");
      exit(1);
      return;
    }
    stopping = true;
    injector.logger.info({ signal, deadlineMs: injector.config.server.shutdownDeadlineMs }, "shutting down: draining");
    injector.stop().then(
      ({ timedOut }) => {
        injector.logger.info({ timedOut }, "shutdown complete");
        injector.logger.flush?.();
        exit(timedOut ? 1 : 0);
      },
      (err: unknown) => {
        injector.logger.error({ err }, "shutdown failed");
        exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // Requests never reject into the void (each route catches), but a stray rejection from a
  // watcher must not take the webhook down: log it and keep serving.
  process.on("unhandledRejection", (reason) => {
    injector.logger.error({ err: reason }, "unhandled promise rejection");
  });
}
