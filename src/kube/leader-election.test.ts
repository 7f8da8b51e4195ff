import { afterEach, describe, expect, it } from "@jest/globals";
import { type FakeApiServer, Kinds, startFakeApiServer } from "../../test/support/fake-apiserver.js";
import { silentLogger } from "../log.js";
import { type LeaderElection, microTime, startLeaderElection } from "./leader-election.js";
import { clusterObjects } from "./objects.js";

const NS = "mesh";
const TIMING = { leaseDurationMs: 1000, renewDeadlineMs: 700, retryPeriodMs: 100 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let api: FakeApiServer;
let electors: LeaderElection[] = [];

afterEach(async () => {
  await Promise.all(electors.map((e) => e.stop(false)));
  electors = [];
  await api?.close();
});

async function candidate(identity: string, log: string[] = []): Promise<LeaderElection> {
  const objects = await clusterObjects(api.kubeConfig(identity), NS, 2000);
  const e = startLeaderElection({
    leases: objects.leases,
    name: "leader",
    identity,
    ...TIMING,
    logger: silentLogger(),
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });
  electors.push(e);
  return e;
}

/** Sample until `done`, failing if two candidates ever think they lead at once. */
async function watchLeaders(all: LeaderElection[], ms: number): Promise<number[]> {
  const counts: number[] = [];
  for (let t = 0; t < ms; t += 20) {
    const n = all.filter((e) => e.isLeader()).length;
    counts.push(n);
    expect(n).toBeLessThanOrEqual(1);
    await sleep(20);
  }
  return counts;
}

async function until(check: () => boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await sleep(10);
  }
  return Date.now() - start;
}

describe("leader election on a Lease", () => {
  it("writes lease times as MicroTime, which the API server insists on", () => {
    expect(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe("2026-01-02T03:04:05.678000Z");
  });

  it("elects exactly one of three candidates and records it on the Lease", async () => {
    api = await startFakeApiServer({ rbac: { namespace: NS, secret: "s", webhookConfig: "w" } });
    const all = await Promise.all(["a", "b", "c"].map((id) => candidate(id)));
    await until(() => all.some((e) => e.isLeader()), 2000);
    await watchLeaders(all, 600);
    const leader = all.find((e) => e.isLeader());
    const lease = api.get(Kinds.Lease, "leader", NS) as { spec: Record<string, unknown> };
    expect(["a", "b", "c"][all.indexOf(leader as LeaderElection)]).toBe(lease.spec.holderIdentity);
    expect(lease.spec).toMatchObject({ leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect(api.denied).toEqual([]);
  });

  it("replaces a crashed leader (no release) within one lease duration of its last renewal", async () => {
    api = await startFakeApiServer();
    const log: string[] = [];
    const all = await Promise.all(["a", "b", "c"].map((id) => candidate(id, log)));
    await until(() => all.some((e) => e.isLeader()), 2000);
    const old = all.find((e) => e.isLeader()) as LeaderElection;
    await old.stop(false);
    const rest = all.filter((e) => e !== old);
    const took = await until(() => rest.some((e) => e.isLeader()), 3000);
    expect(took).toBeLessThan(TIMING.leaseDurationMs + 3 * TIMING.retryPeriodMs * 1.2 + 1000);
    await watchLeaders(rest, 300);
    expect((api.get(Kinds.Lease, "leader", NS) as { spec: { leaseTransitions: number } }).spec.leaseTransitions).toBe(1);
  });

  it("hands over at once when the leader releases the Lease", async () => {
    api = await startFakeApiServer();
    const all = await Promise.all(["a", "b"].map((id) => candidate(id)));
    await until(() => all.some((e) => e.isLeader()), 2000);
    const old = all.find((e) => e.isLeader()) as LeaderElection;
    await old.stop();
    expect((api.get(Kinds.Lease, "leader", NS) as { spec: { holderIdentity: string } }).spec.holderIdentity).toBe("");
    const took = await until(() => all.some((e) => e !== old && e.isLeader()), 2000);
    expect(took).toBeLessThan(TIMING.leaseDurationMs);
  });

  it("a partitioned leader steps down by its renew deadline, before a successor can take over", async () => {
    api = await startFakeApiServer();
    const log: string[] = [];
    const a = await candidate("a", log);
    await until(() => a.isLeader(), 2000);
    const b = await candidate("b", log);
    await sleep(200);
    api.partition("a");
    const cut = Date.now();
    await until(() => !a.isLeader(), 2000);
    const steppedDown = Date.now() - cut;
    await until(() => b.isLeader(), 3000);
    const tookOver = Date.now() - cut;
    expect(steppedDown).toBeLessThanOrEqual(TIMING.renewDeadlineMs + 2 * TIMING.retryPeriodMs + 300);
    expect(tookOver).toBeGreaterThan(steppedDown);
    expect(log).toEqual(["a started", "a stopped", "b started"]);
    // Healed, the old leader finds b's live lease and stays a follower.
    api.heal("a");
    await watchLeaders([a, b], 400);
    expect(a.isLeader()).toBe(false);
  });

  it("steps down at once when it finds someone else's name on the Lease", async () => {
    api = await startFakeApiServer();
    const log: string[] = [];
    const a = await candidate("a", log);
    await until(() => a.isLeader(), 2000);
    const lease = api.get(Kinds.Lease, "leader", NS) as { metadata: object; spec: object };
    api.put(Kinds.Lease, { ...lease, spec: { ...lease.spec, holderIdentity: "intruder", renewTime: microTime(Date.now()) } });
    await until(() => !a.isLeader(), 500);
    expect(log).toEqual(["a started", "a stopped"]);
  });
});
