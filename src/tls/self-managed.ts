/**
 * Self-managed TLS in a cluster (tls.mode: self-managed). Every replica:
 * - watches the shared Secret and swaps in its serving pair when it changes and is usable
 *   (until there is one, it waits: not ready, no certificate of its own);
 * - keeps a heartbeat Lease naming the CA it serves from, so the leader knows when a CA
 *   rotation has reached everyone;
 * - answers readiness: serving a valid certificate that a CA in the live caBundle signed.
 * The leader (Lease election) alone writes: it runs the plan in rotation.ts until nothing is left
 * to do, on every change it sees (Secret, webhook configuration), when a certificate is due for
 * renewal, and every tls.resyncSeconds anyway. Every write carries the resourceVersion it read.
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { TlsConfig } from "../config/config.js";
import { KubeApiError } from "../errors.js";
import { type InformerCache, startInformerCache } from "../kube/informer-cache.js";
import { type LeaderElection, microTime, startLeaderElection } from "../kube/leader-election.js";
import { type ClusterObjects, ConflictError, byName } from "../kube/objects.js";
import type { Metrics } from "../metrics.js";
import type { ServingMaterial } from "./cert-store.js";
import { checkServingPair, describeCertificate, generateCA, generateServingCert } from "./certificates.js";
import { normalizePem } from "./pem.js";
import {
  type CertState,
  type PlanInput,
  RENEW_AT_FRACTION_LEFT,
  SecretKey,
  type Step,
  type WebhookBundle,
  decodeBundle,
  decodeBundleLeniently,
  fingerprintOf,
  inspectBundle,
  issuerAmong,
  planCertificates,
  trustedCas,
} from "./rotation.js";

export const CertLabel = {
  /** On the Secret and the heartbeat Leases: who manages them. */
  ManagedBy: "app.kubernetes.io/managed-by",
  /** On heartbeat Leases: the election they belong to. */
  ReplicaOf: "sidecar-injector.io/replica-of",
} as const;
/** On heartbeat Leases: the fingerprint (SHA-256) of the CA the replica serves from. */
export const SERVING_CA_ANNOTATION = "sidecar-injector.io/serving-ca";
const MANAGER = "sidecar-injector";
const DAY_MS = 86_400_000;
/**
 * After the bundle starts trusting a CA, wait this long before serving from it: API servers load
 * webhook configurations through their own watches, a moment after the patch.
 */
const bundleSettleMs = (retryMs: number) => Math.max(1000, retryMs);

export interface Readiness {
  readonly ready: boolean;
  readonly reason: string;
  /** Whether the live caBundle (as the API server reads it) trusts the serving certificate; absent when not checked. */
  readonly caBundleTrusted?: boolean;
}

export interface SelfManagedOptions {
  readonly objects: ClusterObjects;
  readonly tls: TlsConfig;
  /** SANs of the serving certificate. */
  readonly names: readonly string[];
  /** This replica's name in the election (the pod name in a cluster). */
  readonly identity: string;
  readonly logger: Logger;
  readonly metrics?: Pick<Metrics, "certificateEvent" | "setLeader">;
  /** Called with each new serving pair this replica should serve. */
  readonly onMaterial: (m: ServingMaterial) => void;
  readonly now?: () => Date;
}

export interface SelfManagedCerts {
  material(): ServingMaterial | null;
  readiness(): Readiness;
  isLeader(): boolean;
  /** Stop; the leader releases its Lease and every replica deletes its heartbeat (unless crash: true, in tests). */
  stop(opts?: { crash?: boolean }): Promise<void>;
}

/** The Secret's data, decoded; empty values count as missing. */
export function decodeSecret(secret: V1Secret): CertState {
  const data = secret.data ?? {};
  const text = (k: string): string | undefined => {
    const v = data[k];
    if (!v) return undefined;
    const decoded = Buffer.from(v, "base64").toString("utf8");
    return decoded.trim() === "" ? undefined : decoded;
  };
  return {
    ...optional("caCert", text(SecretKey.CaCert)),
    ...optional("caKey", text(SecretKey.CaKey)),
    ...optional("cert", text(SecretKey.Cert)),
    ...optional("key", text(SecretKey.Key)),
    // Leniently: an older version wrote this bundle with its blocks glued together.
    previousCas: decodeBundleLeniently(data[SecretKey.PreviousCas]),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** The Secret's data; every PEM value normalised (each block on its own lines, ending with a line break). */
function encodeSecretData(state: CertState): Record<string, string> {
  const b64 = (s: string) => Buffer.from(normalizePem(s), "utf8").toString("base64");
  return {
    ...(state.caCert && { [SecretKey.CaCert]: b64(state.caCert) }),
    ...(state.caKey && { [SecretKey.CaKey]: b64(state.caKey) }),
    ...(state.cert && { [SecretKey.Cert]: b64(state.cert) }),
    ...(state.key && { [SecretKey.Key]: b64(state.key) }),
    ...(state.previousCas.length > 0 && { [SecretKey.PreviousCas]: b64(state.previousCas.map(normalizePem).join("")) }),
  };
}

/** A Lease name for this replica's heartbeat (identity made a DNS subdomain). */
function heartbeatName(leaseName: string, identity: string): string {
  const safe = identity.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "") || "replica";
  return `${leaseName}-${safe}`.slice(0, 253).replace(/-+$/, "");
}

export async function startSelfManagedCerts(opts: SelfManagedOptions): Promise<SelfManagedCerts> {
  const { objects, tls, logger } = opts;
  const clock = opts.now ?? (() => new Date());
  const log = logger.child({ component: "certificates", identity: opts.identity });
  const ns = objects.namespace;
  const retryMs = tls.retryPeriodSeconds * 1000;
  const leaseMs = tls.leaseDurationSeconds * 1000;
  let stopped = false;
  let current: ServingMaterial | null = null;
  let currentFingerprint = "";
  let currentIssuer = "";
  let lastSecretProblem = "";

  // ---- every replica: load the serving pair from the Secret ----------------------------------
  const loadFromSecret = (): void => {
    const secret = secretCache.get(tls.secretName, ns);
    const problem = ((): string | null => {
      if (!secret) return "no certificate Secret yet";
      const state = decodeSecret(secret);
      if (!state.cert || !state.key) return "the certificate Secret holds no serving certificate yet";
      const trust = trustedCas(state, clock());
      const issuerFp = issuerAmong(state.cert, trust);
      const issuer = trust.find((p) => fingerprintOf(p) === issuerFp);
      if (!issuer) return "the Secret's serving certificate is not signed by a CA the Secret trusts";
      const problems = checkServingPair({ cert: state.cert, key: state.key }, issuer, opts.names, clock());
      if (problems.length > 0) return `the Secret's serving certificate is unusable: ${problems.join("; ")}`;
      const fp = describeCertificate(state.cert).fingerprint256;
      if (fp !== currentFingerprint) {
        current = { cert: state.cert, key: state.key, caCert: issuer };
        currentFingerprint = fp;
        currentIssuer = issuerFp;
        const info = describeCertificate(state.cert);
        log.info({ notAfter: info.notAfter.toISOString(), fingerprint256: fp, ca: issuerFp }, "serving certificate loaded from the Secret");
        opts.metrics?.certificateEvent("certificate_loaded");
        opts.onMaterial(current);
        void heartbeat();
        // A leader waiting for replicas to serve from the current CA counts itself from memory:
        // plan again now that it serves this certificate.
        kick();
      }
      return null;
    })();
    if (problem !== null && problem !== lastSecretProblem) {
      log.warn({ secret: `${ns}/${tls.secretName}`, serving: current !== null }, `${problem}: waiting for the leader`);
    }
    lastSecretProblem = problem ?? "";
    if (problem !== null) kick();
  };

  // ---- every replica: heartbeat naming the CA it serves from ---------------------------------
  const myLease = heartbeatName(tls.leaseName, opts.identity);
  const heartbeat = async (): Promise<void> => {
    if (stopped) return;
    const now = microTime(clock().getTime()) as unknown as Date;
    const meta = {
      name: myLease,
      labels: { [CertLabel.ManagedBy]: MANAGER, [CertLabel.ReplicaOf]: tls.leaseName },
      annotations: { [SERVING_CA_ANNOTATION]: currentIssuer },
    };
    const spec = { holderIdentity: opts.identity, leaseDurationSeconds: Math.max(1, Math.ceil(tls.leaseDurationSeconds)), renewTime: now };
    try {
      const existing = await objects.leases.get(myLease);
      if (existing === null) await objects.leases.create({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: meta, spec });
      else await objects.leases.replace({ ...existing, metadata: { ...existing.metadata, ...meta }, spec: { ...existing.spec, ...spec } });
    } catch (err) {
      if (!(err instanceof ConflictError)) log.debug({ err: (err as Error).message }, "heartbeat failed");
    }
  };
  const heartbeatTimer = setInterval(() => void heartbeat(), Math.max(retryMs, leaseMs / 3));
  heartbeatTimer.unref();

  // ---- the leader: plan and act ---------------------------------------------------------------
  let running = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let lastWait = "";
  /** When this leader first saw each CA (fingerprint) trusted by the live bundle. */
  const trustSeenAt = new Map<string, number>();
  let webhookReadProblem = "";

  const readWebhooks = async (): Promise<readonly WebhookBundle[] | null> => {
    try {
      const mwc = await objects.webhookConfigs.get(tls.webhookConfigName);
      if (mwc === null) {
        if (webhookReadProblem !== "missing") log.warn({ webhookConfig: tls.webhookConfigName }, "the webhook configuration does not exist: no caBundle to keep");
        webhookReadProblem = "missing";
        return null;
      }
      webhookReadProblem = "";
      return (mwc.webhooks ?? []).map((w) => ({ name: w.name, caBundle: w.clientConfig?.caBundle || undefined }));
    } catch (err) {
      const message = (err as Error).message;
      if (webhookReadProblem !== message) log.warn({ err: message }, "cannot read the webhook configuration: caBundle not kept");
      webhookReadProblem = message;
      return null;
    }
  };

  const liveReplicas = async (): Promise<PlanInput["replicas"]> => {
    try {
      const leases = await objects.leases.list(`${CertLabel.ReplicaOf}=${tls.leaseName}`);
      const now = clock().getTime();
      const out: Array<{ identity: string; servingCa: string }> = [];
      for (const l of leases) {
        const renewed = Date.parse(String(l.spec?.renewTime ?? ""));
        const durationMs = (l.spec?.leaseDurationSeconds ?? 0) * 1000;
        if (l.metadata?.name === myLease) continue;
        if (Number.isFinite(renewed) && renewed + durationMs > now) {
          out.push({ identity: l.spec?.holderIdentity ?? l.metadata?.name ?? "?", servingCa: l.metadata?.annotations?.[SERVING_CA_ANNOTATION] ?? "" });
        } else if (!Number.isFinite(renewed) || renewed + 3 * durationMs < now) {
          await objects.leases.delete(l.metadata?.name ?? "").catch(() => undefined);
          log.info({ lease: l.metadata?.name }, "deleted the heartbeat of a replica that is gone");
        }
      }
      // This replica, the leader, from memory: its own heartbeat may not yet name what it serves now.
      out.push({ identity: opts.identity, servingCa: currentIssuer });
      return out;
    } catch (err) {
      log.warn({ err: (err as Error).message }, "cannot list replica heartbeats");
      return null;
    }
  };

  const writeSecret = async (existing: V1Secret | null, state: CertState): Promise<void> => {
    const data = encodeSecretData(state);
    if (existing === null) {
      await objects.secrets.create({
        apiVersion: "v1",
        kind: "Secret",
        type: "Opaque",
        metadata: { name: tls.secretName, labels: { [CertLabel.ManagedBy]: MANAGER } },
        data,
      });
    } else {
      await objects.secrets.replace({ ...existing, data });
    }
  };

  /** When the plan will next have work: a third of the serving certificate's or the CA's life left. */
  const nextDue = (state: CertState | null): number => {
    const due = (pem: string | undefined, validityS: number) => {
      if (!pem) return Number.POSITIVE_INFINITY;
      return describeCertificate(pem).notAfter.getTime() - validityS * 1000 * RENEW_AT_FRACTION_LEFT - clock().getTime();
    };
    return Math.min(due(state?.cert, tls.certValiditySeconds), due(state?.caCert, tls.caValiditySeconds));
  };

  const act = async (step: Step, secret: V1Secret | null, state: CertState | null): Promise<void> => {
    const now = clock();
    switch (step.kind) {
      case "issue-ca": {
        // A distinct subject per CA: TLS clients look issuers up by subject, and two CAs of one
        // name in a bundle (old and new, mid-rotation) would make some pick the wrong one.
        const ca = await generateCA({ commonName: `${MANAGER} CA ${now.toISOString()}`, days: tls.caValiditySeconds * 1000 / DAY_MS, now });
        await writeSecret(secret, { caCert: ca.cert, caKey: ca.key, ...(state?.cert && state.key && { cert: state.cert, key: state.key }), previousCas: step.keepTrusted });
        log.info({ reason: step.reason, ca: fingerprintOf(ca.cert), notAfter: describeCertificate(ca.cert).notAfter.toISOString(), stillTrusted: step.keepTrusted.map(fingerprintOf) }, "issued a new CA");
        opts.metrics?.certificateEvent("ca_issued");
        return;
      }
      case "patch-bundle": {
        const mwc = await objects.webhookConfigs.get(tls.webhookConfigName);
        if (mwc === null) return;
        const ops = (mwc.webhooks ?? []).flatMap((w, i) =>
          step.webhooks.includes(w.name)
            ? [
                { op: "test" as const, path: `/webhooks/${i}/name`, value: w.name },
                { op: "add" as const, path: `/webhooks/${i}/clientConfig/caBundle`, value: step.bundle },
              ]
            : [],
        );
        if (ops.length === 0) return;
        await objects.webhookConfigs.patch(tls.webhookConfigName, [
          { op: "test", path: "/metadata/resourceVersion", value: mwc.metadata?.resourceVersion },
          ...ops,
        ]);
        log.info({ webhookConfig: tls.webhookConfigName, webhooks: step.webhooks, cas: decodeBundle(step.bundle).map(fingerprintOf) }, "patched the caBundle");
        opts.metrics?.certificateEvent("ca_bundle_patched");
        return;
      }
      case "issue-serving": {
        if (!state?.caCert || !state.caKey) return;
        const pair = await generateServingCert({ ca: { cert: state.caCert, key: state.caKey }, names: opts.names, days: tls.certValiditySeconds * 1000 / DAY_MS, now });
        await writeSecret(secret, { ...state, cert: pair.cert, key: pair.key });
        const info = describeCertificate(pair.cert);
        log.info({ reason: step.reason, notAfter: info.notAfter.toISOString(), fingerprint256: info.fingerprint256, names: opts.names }, "issued a serving certificate");
        opts.metrics?.certificateEvent("serving_issued");
        return;
      }
      case "drop-previous": {
        if (!state) return;
        await writeSecret(secret, { ...state, previousCas: [] });
        log.info({ reason: step.reason, dropped: state.previousCas.map(fingerprintOf) }, "dropped the previous CA");
        opts.metrics?.certificateEvent("previous_ca_dropped");
        return;
      }
      default:
        return;
    }
  };

  const reconcile = async (): Promise<void> => {
    let waitMs = tls.resyncSeconds * 1000;
    try {
      for (let round = 0; round < 10 && election.isLeader() && !stopped; round++) {
        const [secret, webhooks] = await Promise.all([objects.secrets.get(tls.secretName), readWebhooks()]);
        const state = secret === null ? null : decodeSecret(secret);
        const rotating = state !== null && state.previousCas.length > 0;
        const step = planCertificates({
          secret: state,
          webhooks,
          replicas: rotating ? await liveReplicas() : [],
          names: opts.names,
          now: clock(),
          caValidityMs: tls.caValiditySeconds * 1000,
          certValidityMs: tls.certValiditySeconds * 1000,
        });
        if (step.kind === "none" || step.kind === "wait") {
          if (step.kind === "wait" && step.reason !== lastWait) log.info({ reason: step.reason }, "certificate rotation waiting");
          lastWait = step.kind === "wait" ? step.reason : "";
          waitMs = step.kind === "wait" ? retryMs : Math.max(retryMs, Math.min(waitMs, nextDue(state)));
          return;
        }
        if (step.kind === "issue-serving" && webhooks !== null && state?.caCert) {
          // Give every API server time to load a bundle that newly trusts this CA before serving from it.
          const fp = fingerprintOf(state.caCert);
          const seen = trustSeenAt.get(fp) ?? clock().getTime();
          trustSeenAt.set(fp, seen);
          const left = seen + bundleSettleMs(retryMs) - clock().getTime();
          if (left > 0) {
            waitMs = left;
            return;
          }
        }
        if (!election.isLeader()) return;
        try {
          await act(step, secret, state);
          // The new certificate reaches this replica through the Secret's watch, which plans
          // again (loadFromSecret); planning now would only find the leader itself behind.
          if (step.kind === "issue-serving") {
            waitMs = retryMs;
            return;
          }
        } catch (err) {
          if (err instanceof ConflictError || (err instanceof KubeApiError && err.httpStatus === 422)) {
            log.debug({ step: step.kind, err: err.message }, "lost a write race; reading again");
            continue;
          }
          throw err;
        }
      }
      waitMs = retryMs;
    } catch (err) {
      log.warn({ err: (err as Error).message }, "certificate reconcile failed; retrying");
      waitMs = retryMs;
    } finally {
      clearTimeout(timer);
      if (!stopped && election.isLeader()) {
        timer = setTimeout(kick, waitMs);
        timer.unref();
      }
    }
  };

  function kick(): void {
    if (stopped || !election.isLeader()) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    void reconcile().finally(() => {
      running = false;
      if (again) {
        again = false;
        kick();
      }
    });
  }

  // ---- readiness -------------------------------------------------------------------------------
  let readinessKey = "";
  let readinessValue: Readiness = { ready: false, reason: "starting" };
  const readiness = (): Readiness => {
    if (current === null) return { ready: false, reason: "waiting for the leader to publish the certificate Secret" };
    if (clock() >= describeCertificate(current.cert).notAfter) return { ready: false, reason: "the serving certificate expired" };
    if (!webhookCache.isSynced()) return { ready: true, reason: "serving; the webhook configuration cannot be read, so its caBundle is not checked" };
    const mwc = webhookCache.get(tls.webhookConfigName);
    const key = `${currentFingerprint}|${mwc?.metadata?.resourceVersion ?? "none"}`;
    if (key === readinessKey) return readinessValue;
    readinessKey = key;
    if (!mwc) {
      readinessValue = { ready: true, reason: `serving; webhook configuration ${tls.webhookConfigName} not found` };
    } else {
      // Only what the API server reads counts (Go's PEM rules): a bundle it cannot read trusts nothing.
      const bundles = (mwc.webhooks ?? []).map((w) => ({ name: w.name, ...inspectBundle(w.clientConfig?.caBundle) }));
      const unreadable = bundles.filter((b) => b.unreadable > 0);
      const untrusting = bundles.filter((b) => issuerAmong(current?.cert ?? "", b.cas) === "").map((b) => b.name);
      if (unreadable.length > 0) {
        log.error(
          { webhookConfig: tls.webhookConfigName, webhooks: unreadable.map((b) => ({ name: b.name, readable: b.cas.length, unreadable: b.unreadable })) },
          "the caBundle holds certificates the API server cannot read (each PEM block must begin and end on lines of its own)",
        );
      }
      readinessValue =
        untrusting.length > 0
          ? {
              ready: false,
              reason: `the caBundle of ${untrusting.join(", ")} does not trust the serving certificate${unreadable.length > 0 ? ` (unreadable certificates in ${unreadable.map((b) => b.name).join(", ")})` : ""}`,
              caBundleTrusted: false,
            }
          : { ready: true, reason: "serving a certificate the caBundle trusts", caBundleTrusted: true };
    }
    return readinessValue;
  };

  // ---- wiring ----------------------------------------------------------------------------------
  const election: LeaderElection = startLeaderElection({
    leases: objects.leases,
    name: tls.leaseName,
    identity: opts.identity,
    leaseDurationMs: leaseMs,
    renewDeadlineMs: tls.renewDeadlineSeconds * 1000,
    retryPeriodMs: retryMs,
    logger: log,
    onStartedLeading: () => {
      opts.metrics?.setLeader(true);
      kick();
    },
    onStoppedLeading: () => {
      opts.metrics?.setLeader(false);
      clearTimeout(timer);
    },
  });
  const cacheOpts = { retryMs: Math.max(retryMs, 1000) };
  const secretCache: InformerCache<V1Secret> = await startInformerCache<V1Secret>(
    objects.kubeConfig,
    "certificate secret",
    `/api/v1/namespaces/${ns}/secrets`,
    () => objects.secrets.listNamed(tls.secretName),
    log,
    { ...cacheOpts, fieldSelector: byName(tls.secretName), onChange: loadFromSecret },
  );
  const webhookCache = await startInformerCache(
    objects.kubeConfig,
    "webhook configuration",
    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    () => objects.webhookConfigs.listNamed(tls.webhookConfigName),
    log,
    { ...cacheOpts, fieldSelector: byName(tls.webhookConfigName), onChange: () => kick() },
  );
  void heartbeat();

  return {
    material: () => current,
    readiness,
    isLeader: () => election.isLeader(),
    async stop(stopOpts = {}) {
      stopped = true;
      clearTimeout(timer);
      clearInterval(heartbeatTimer);
      await election.stop(!stopOpts.crash);
      await Promise.all([secretCache.stop(), webhookCache.stop()]).catch(() => undefined);
      if (!stopOpts.crash) await objects.leases.delete(myLease).catch(() => undefined);
    },
  };
}

