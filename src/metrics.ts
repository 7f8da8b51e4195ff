/**
 * Prometheus metrics (prom-client, in a registry of our own). Names follow Istio's injector
 * (sidecar_injection_*) so existing dashboards keep working; skip and failure counters carry the
 * stable reason codes as labels.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  readonly registry: Registry;
  /** One admission review: its result, its first skip reason, or its error code. */
  observeReview(outcome: ReviewOutcome, seconds: number): void;
  configReload(result: "success" | "failure"): void;
  /** notAfter of the serving certificate and of the CA, as Unix time. */
  setCertificateExpiry(serving: Date, ca: Date | undefined): void;
  /** A review answered from the replay cache (also counted by observeReview). */
  replayed(): void;
  /** Certificate work done by this replica (see CertificateEvents). */
  certificateEvent(event: CertificateEvent): void;
  /** Whether this replica leads the certificate work (self-managed TLS). */
  setLeader(leader: boolean): void;
  /** Findings by code from the latest in-server audit. */
  setAuditFindings(counts: Readonly<Record<string, number>>): void;
  /** Where the health gauges read from at each scrape (the serving process sets it once). */
  setHealthSource(source: () => HealthFacts): void;
}

/** What the health gauges export, read at each scrape. */
export interface HealthFacts {
  /** This replica answers /readyz with 200. */
  readonly ready: boolean;
  /**
   * Whether every webhook's caBundle of the named MutatingWebhookConfiguration, as the API server
   * reads it, trusts the serving certificate; null: not known (not self-managed, or the webhook
   * configuration cannot be read).
   */
  readonly caBundleTrusted: { readonly webhookConfiguration: string; readonly trusted: boolean } | null;
}

export const CertificateEvents = ["ca_issued", "serving_issued", "previous_ca_dropped", "ca_bundle_patched", "certificate_loaded"] as const;
export type CertificateEvent = (typeof CertificateEvents)[number];

export type ReviewOutcome =
  | { readonly result: "inject" }
  | { readonly result: "skip"; readonly reason: string }
  | { readonly result: "error"; readonly reason: string };

export interface MetricsOptions {
  /**
   * Also export the process's own metrics (prom-client's defaults: process_resident_memory_bytes,
   * nodejs_heap_size_used_bytes, nodejs_external_memory_bytes, GC and event-loop lag) and the
   * event-loop delay histogram, as the serving process does; off for tests that build several
   * registries in one process.
   */
  readonly process?: boolean;
}

/** How often the event loop is sampled for its delay (perf_hooks' timer period). */
export const EVENT_LOOP_SAMPLE_MS = 10;

/**
 * sidecar_injector_event_loop_delay_seconds: how late the event loop runs a timer, the wait every
 * review on this replica shares. perf_hooks samples it every EVENT_LOOP_SAMPLE_MS into its own
 * histogram of percentiles; at each scrape those samples move into this Prometheus histogram (each
 * percentile step's count at its value, less the timer period) and perf_hooks' is reset.
 */
function eventLoopDelayHistogram(registry: Registry): void {
  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS });
  delay.enable();
  new Histogram({
    name: "sidecar_injector_event_loop_delay_seconds",
    help: "How late the event loop that answers reviews runs a timer (sampled every 10 ms); a review waits at least this long before it is read.",
    // Up to the API server's 10 s webhook timeout, like the review latency.
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
    collect() {
      const total = delay.count;
      if (total === 0) return;
      let counted = 0;
      for (const [percentile, nanoseconds] of delay.percentiles) {
        const upTo = Math.round((total * percentile) / 100);
        const seconds = Math.max(0, nanoseconds / 1e9 - EVENT_LOOP_SAMPLE_MS / 1000);
        for (; counted < upTo; counted++) this.observe(seconds);
      }
      delay.reset();
    },
  });
}

export function createMetrics(version: string, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.process === true) {
    collectDefaultMetrics({ register: registry });
    eventLoopDelayHistogram(registry);
  }
  const requests = new Counter({ name: "sidecar_injection_requests_total", help: "Admission reviews received.", registers: [registry] });
  const success = new Counter({ name: "sidecar_injection_success_total", help: "Reviews answered with the sidecar injected.", registers: [registry] });
  const skip = new Counter({
    name: "sidecar_injection_skip_total",
    help: "Reviews answered without injection, by the first reason (a stable reason code).",
    labelNames: ["reason"],
    registers: [registry],
  });
  const failure = new Counter({
    name: "sidecar_injection_failure_total",
    help: "Reviews answered with allowed: false or an internal error, by error code.",
    labelNames: ["reason"],
    registers: [registry],
  });
  const time = new Histogram({
    name: "sidecar_injection_time_seconds",
    help: "Time to answer a review, from the parsed request to the response.",
    // Up to the API server's 10 s webhook timeout, so a p99 near it is measurable.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const reloads = new Counter({
    name: "sidecar_injector_config_reloads_total",
    help: "Configuration file reloads, by result.",
    labelNames: ["result"],
    registers: [registry],
  });
  const expiry = new Gauge({
    name: "sidecar_injector_certificate_expiry_timestamp_seconds",
    help: "notAfter of the serving certificate and of its CA, as Unix time.",
    labelNames: ["certificate"],
    registers: [registry],
  });
  const build = new Gauge({
    name: "sidecar_injector_build_info",
    help: "The running version (always 1).",
    labelNames: ["version", "node"],
    registers: [registry],
  });
  const findings = new Gauge({
    name: "sidecar_injector_audit_findings",
    help: "Findings by code in the latest audit run by this injector (GET /audit, auditEndpoint: true).",
    labelNames: ["code"],
    registers: [registry],
  });
  const certEvents = new Counter({
    name: "sidecar_injector_certificate_events_total",
    help: "Certificate work: CAs and serving certificates issued, previous CAs dropped, caBundle patches, certificates loaded from the Secret.",
    labelNames: ["event"],
    registers: [registry],
  });
  const leader = new Gauge({
    name: "sidecar_injector_leader",
    help: "1 when this replica is the leader that issues certificates and patches the caBundle (self-managed TLS).",
    registers: [registry],
  });
  for (const event of CertificateEvents) certEvents.inc({ event }, 0);
  const replays = new Counter({
    name: "sidecar_injection_replayed_total",
    help: "Reviews answered from the replay cache (identical to an earlier review but for the uid).",
    registers: [registry],
  });
  let health: (() => HealthFacts) | null = null;
  new Gauge({
    name: "sidecar_injector_ready",
    help: "1 when this replica is ready to answer reviews (GET /readyz is 200), else 0.",
    registers: [registry],
    collect() {
      if (health) this.set(health().ready ? 1 : 0);
    },
  });
  new Gauge({
    name: "sidecar_injector_ca_bundle_trusted",
    help: "1 when every webhook's caBundle, read as the API server reads it, trusts the serving certificate; 0 when one does not (self-managed TLS; absent when unknown).",
    labelNames: ["webhook_configuration"],
    registers: [registry],
    collect() {
      const facts = health?.().caBundleTrusted ?? null;
      this.reset();
      if (facts !== null) this.set({ webhook_configuration: facts.webhookConfiguration }, facts.trusted ? 1 : 0);
    },
  });
  build.set({ version, node: process.version }, 1);
  for (const result of ["success", "failure"]) reloads.inc({ result }, 0);
  const lastReload = new Gauge({
    name: "sidecar_injector_config_last_reload_successful",
    help: "1 when the latest load of the configuration (its file, or Istio's ConfigMaps with istio.fromCluster) succeeded, 0 when it was refused (the previous configuration is still in use).",
    registers: [registry],
  });
  lastReload.set(1);

  return {
    registry,
    observeReview(outcome, seconds) {
      requests.inc();
      time.observe(seconds);
      if (outcome.result === "inject") success.inc();
      else if (outcome.result === "skip") skip.inc({ reason: outcome.reason });
      else failure.inc({ reason: outcome.reason });
    },
    configReload(result) {
      reloads.inc({ result });
      lastReload.set(result === "success" ? 1 : 0);
    },
    replayed() {
      replays.inc();
    },
    certificateEvent(event) {
      certEvents.inc({ event });
    },
    setLeader(on) {
      leader.set(on ? 1 : 0);
    },
    setAuditFindings(counts) {
      for (const [code, n] of Object.entries(counts)) findings.set({ code }, n);
    },
    setHealthSource(source) {
      health = source;
    },
    setCertificateExpiry(serving, ca) {
      expiry.set({ certificate: "serving" }, Math.floor(serving.getTime() / 1000));
      if (ca) expiry.set({ certificate: "ca" }, Math.floor(ca.getTime() / 1000));
    },
  };
}
