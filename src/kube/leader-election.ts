/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules:
 * - a candidate takes the Lease when it does not exist, has no holder, or its record has not
 *   changed for the holder's declared leaseDurationSeconds, measured on the candidate's own clock
 *   from when it first saw that record (so clocks need not agree);
 * - writes carry the resourceVersion read, so two candidates never both win (409 → try later);
 * - the leader renews every retry period and steps down when it has not renewed for the renew
 *   deadline (shorter than the lease duration, so a new leader never overlaps an old one), or at
 *   once when it sees another holder;
 * - stop() releases the Lease (empty holder) so a successor need not wait a lease duration.
 */
import type { V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { ConflictError, type ClusterObjects } from "./objects.js";

export interface LeaderElectionOptions {
  readonly leases: ClusterObjects["leases"];
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly logger: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly now?: () => number;
}

export interface LeaderElection {
  isLeader(): boolean;
  /** The holder last seen on the Lease ("" when released, undefined before the first read). */
  observedHolder(): string | undefined;
  /** Stop taking part; a leader releases the Lease unless `release` is false (a crash, in tests). */
  stop(release?: boolean): Promise<void>;
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits (the API server insists). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

const JITTER = 1.2;

export function startLeaderElection(opts: LeaderElectionOptions): LeaderElection {
  const clock = opts.now ?? Date.now;
  const log = opts.logger.child({ lease: opts.name, identity: opts.identity });
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let observedRecord = "";
  let observedAt = 0;
  let observedHolder: string | undefined;
  let lastRenew = 0;

  const leaseFor = (now: number, base: V1Lease | null): V1Lease => {
    const spec = base?.spec ?? {};
    const mine = spec.holderIdentity === opts.identity;
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { ...(base?.metadata ?? {}), name: opts.name },
      spec: {
        holderIdentity: opts.identity,
        leaseDurationSeconds: Math.max(1, Math.ceil(opts.leaseDurationMs / 1000)),
        acquireTime: (mine && spec.acquireTime ? spec.acquireTime : microTime(now)) as unknown as Date,
        renewTime: microTime(now) as unknown as Date,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (base === null || mine ? 0 : 1),
      },
    };
  };

  /** One attempt: "won" (acquired or renewed), "held" (another holder's lease is live), "failed". */
  const attempt = async (): Promise<"won" | "held" | "failed"> => {
    const now = clock();
    const lease = await opts.leases.get(opts.name);
    if (lease === null) {
      await opts.leases.create(leaseFor(now, null));
      observedHolder = opts.identity;
      return "won";
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const record = `${holder}|${String(spec.renewTime)}|${spec.leaseTransitions ?? 0}`;
    if (record !== observedRecord) {
      observedRecord = record;
      observedAt = now;
    }
    observedHolder = holder;
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== "" && holder !== opts.identity && observedAt + durationMs > now) return "held";
    await opts.leases.replace(leaseFor(now, lease));
    observedHolder = opts.identity;
    return "won";
  };

  const step = async (): Promise<void> => {
    let outcome: "won" | "held" | "failed";
    try {
      outcome = await attempt();
    } catch (err) {
      outcome = "failed";
      if (!(err instanceof ConflictError)) log.debug({ err: (err as Error).message }, "lease attempt failed");
    }
    if (stopped) return;
    const now = clock();
    if (outcome === "won") {
      lastRenew = now;
      if (!leader) {
        leader = true;
        log.info("became the leader");
        opts.onStartedLeading();
      }
    } else if (leader && (outcome === "held" || now - lastRenew >= opts.renewDeadlineMs)) {
      leader = false;
      log.warn({ holder: observedHolder, sinceRenewMs: now - lastRenew }, "lost the leadership");
      opts.onStoppedLeading();
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    const wait = leader ? opts.retryPeriodMs : opts.retryPeriodMs * (1 + Math.random() * (JITTER - 1));
    timer = setTimeout(() => {
      running = step().finally(schedule);
    }, wait);
    timer.unref();
  };
  running = step().finally(schedule);

  return {
    isLeader: () => leader,
    observedHolder: () => observedHolder,
    async stop(release = true) {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
      if (!leader) return;
      leader = false;
      if (release) {
        try {
          const lease = await opts.leases.get(opts.name);
          if (lease?.spec?.holderIdentity === opts.identity) {
            const now = microTime(clock()) as unknown as Date;
            await opts.leases.replace({ ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now, acquireTime: now } });
            log.info("released the lease");
          }
        } catch (err) {
          log.warn({ err: (err as Error).message }, "could not release the lease; a successor waits one lease duration");
        }
      }
      opts.onStoppedLeading();
    },
  };
}
