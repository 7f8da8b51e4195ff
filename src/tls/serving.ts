/**
 * Where the webhook's serving certificate comes from (tls.mode), behind one interface for the
 * composition root:
 * - local: the certs/ folder, generated on first start and reused (development, `npm start`);
 * - files: paths supplied by someone else (cert-manager, a mounted Secret), watched and swapped;
 *   never written, and the caBundle is someone else's job;
 * - self-managed: a CA and serving pair shared by the replicas through a Secret, with the
 *   caBundle kept right by the leader (self-managed.ts).
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Config, TlsMode } from "../config/config.js";
import { ConfigError } from "../errors.js";
import type { ClusterAccess } from "../kube/client.js";
import { clusterObjects } from "../kube/objects.js";
import type { Metrics } from "../metrics.js";
import { type FolderWatch } from "../watch-folder.js";
import {
  type ServingMaterial,
  type ServingPaths,
  folderPaths,
  loadOrCreateLocalCerts,
  readServingFiles,
  servingNames,
  watchServingFiles,
} from "./cert-store.js";
import { describeCertificate } from "./certificates.js";
import { type Readiness, startSelfManagedCerts } from "./self-managed.js";

export type ResolvedTlsMode = Exclude<TlsMode, "auto">;

/** auto: self-managed when running in a pod, local elsewhere. */
export function resolveTlsMode(mode: TlsMode, access: ClusterAccess): ResolvedTlsMode {
  if (mode !== "auto") return mode;
  return access.kind === "in-cluster" ? "self-managed" : "local";
}

/** This replica's name in the election: the pod name in a cluster, else host and a random suffix. */
export function replicaIdentity(env: Readonly<Record<string, string | undefined>>): string {
  return env.POD_NAME || `${hostname()}-${randomBytes(3).toString("hex")}`;
}

export interface ServingCertificates {
  readonly mode: ResolvedTlsMode;
  /** The pair to serve now (null: none yet; TLS handshakes fail until one arrives). */
  material(): ServingMaterial | null;
  readiness(): Readiness;
  stop(): Promise<void>;
}

export interface ServingOptions {
  readonly config: Config;
  readonly mode: ResolvedTlsMode;
  readonly kc: KubeConfig | null;
  readonly identity: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** A new pair to serve (after start). */
  readonly onChange: (m: ServingMaterial) => void;
}

function filesPaths(config: Config): ServingPaths {
  const dir = folderPaths(config.server.certDir);
  const t = config.tls;
  if (t.certFile !== null && t.keyFile !== null) return { cert: t.certFile, key: t.keyFile, ca: t.caFile ?? undefined };
  return { ...dir, ca: t.caFile ?? dir.ca };
}

const API_TIMEOUT_MS = 10_000;

export async function startServingCertificates(opts: ServingOptions): Promise<ServingCertificates> {
  const { config, logger, metrics } = opts;
  const names = servingNames(config.service, config.sidecar.clusterDomain);
  let current: ServingMaterial | null = null;
  const use = (m: ServingMaterial, notify: boolean) => {
    current = m;
    const info = describeCertificate(m.cert);
    metrics.setCertificateExpiry(info.notAfter, m.caCert ? describeCertificate(m.caCert).notAfter : undefined);
    if (notify) opts.onChange(m);
  };
  const fixedReadiness = (): Readiness =>
    current === null
      ? { ready: false, reason: "no serving certificate yet" }
      : new Date() >= describeCertificate(current.cert).notAfter
        ? { ready: false, reason: "the serving certificate expired" }
        : { ready: true, reason: "serving" };

  if (opts.mode === "local") {
    const certs = await loadOrCreateLocalCerts({ dir: config.server.certDir, names, now: new Date() });
    use(certs.material, false);
    const info = describeCertificate(certs.material.cert);
    logger.info({ mode: "local", dir: config.server.certDir, action: certs.action, notAfter: info.notAfter.toISOString(), names }, "serving certificate ready");
    const watch = watchServingFiles(folderPaths(config.server.certDir), (m) => use(m, true), logger, undefined, undefined, info.fingerprint256);
    return { mode: "local", material: () => current, readiness: fixedReadiness, stop: async () => watch.close() };
  }

  if (opts.mode === "files") {
    const paths = filesPaths(config);
    let fingerprint = "";
    try {
      const m = await readServingFiles(paths, new Date());
      use(m, false);
      fingerprint = describeCertificate(m.cert).fingerprint256;
      logger.info({ mode: "files", cert: paths.cert, notAfter: describeCertificate(m.cert).notAfter.toISOString() }, "serving certificate ready");
    } catch (err) {
      logger.warn({ mode: "files", err: (err as Error).message }, "no usable certificate yet: not ready until the files appear");
    }
    const watch: FolderWatch = watchServingFiles(paths, (m) => use(m, true), logger, undefined, undefined, fingerprint);
    return { mode: "files", material: () => current, readiness: fixedReadiness, stop: async () => watch.close() };
  }

  if (opts.kc === null) {
    throw new ConfigError(["tls.mode self-managed needs a cluster: run in a pod, or set KUBECONFIG (or use tls.mode local or files)"]);
  }
  const objects = await clusterObjects(opts.kc, config.service.namespace, API_TIMEOUT_MS);
  logger.info(
    { mode: "self-managed", secret: `${config.service.namespace}/${config.tls.secretName}`, webhookConfig: config.tls.webhookConfigName, lease: config.tls.leaseName, identity: opts.identity },
    "self-managed certificates: waiting for the shared Secret",
  );
  const managed = await startSelfManagedCerts({
    objects,
    tls: config.tls,
    names,
    identity: opts.identity,
    logger,
    metrics,
    onMaterial: (m) => use(m, true),
  });
  return {
    mode: "self-managed",
    material: () => current,
    readiness: managed.readiness,
    stop: () => managed.stop(),
  };
}
