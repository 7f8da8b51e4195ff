/**
 * Self-managed certificates with several replicas in one process, each with its own HTTPS
 * server, against the in-process API server (through the real client-node, RBAC from the call
 * table enforced). Clients pin the CA from the live caBundle, as kube-apiserver does.
 */
import { request as httpsRequest } from "node:https";
import { afterEach, describe, expect, it } from "@jest/globals";
import type { TlsConfig } from "../../src/config/config.js";
import { type Lifecycle, type ServerHandle, startServer } from "../../src/http/server.js";
import { microTime } from "../../src/kube/leader-election.js";
import { clusterObjects } from "../../src/kube/objects.js";
import { type Logger, createLogger, silentLogger } from "../../src/log.js";
import { generateCA } from "../../src/tls/certificates.js";
import { normalizePem } from "../../src/tls/pem.js";
import { decodeBundle, fingerprintOf, issuerAmong } from "../../src/tls/rotation.js";
import { type SelfManagedCerts, decodeSecret, startSelfManagedCerts } from "../../src/tls/self-managed.js";
import { type ApiServerClient, startApiServerClient } from "../support/apiserver-client.js";
import { aPod, reviewFor, testApp, testConfig } from "../support/builders.js";
import { type FakeApiServer, Kinds, startFakeApiServer } from "../support/fake-apiserver.js";
import { hasGo, sayGoSkipped } from "../support/go.js";

const NS = "mesh";
const SERVICE = "injector";
const NAMES = [SERVICE, `${SERVICE}.${NS}`, `${SERVICE}.${NS}.svc`, `${SERVICE}.${NS}.svc.cluster.local`];
const HOST = `${SERVICE}.${NS}.svc`;
const TLS: TlsConfig = {
  ...testConfig().tls,
  mode: "self-managed",
  secretName: "injector-certs",
  webhookConfigName: "injector",
  leaseName: "injector-leader",
  leaseDurationSeconds: 1,
  renewDeadlineSeconds: 0.7,
  retryPeriodSeconds: 0.1,
  resyncSeconds: 5,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Replica {
  readonly id: string;
  readonly certs: SelfManagedCerts;
  readonly server: ServerHandle;
  stopped: boolean;
}

let api: FakeApiServer;
let replicas: Replica[] = [];
let goProcess: ApiServerClient | null = null;

afterEach(async () => {
  await goProcess?.close();
  goProcess = null;
  for (const r of replicas) {
    if (r.stopped) continue;
    await r.certs.stop({ crash: true });
    await r.server.close(200);
  }
  replicas = [];
  await api?.close();
});

async function start(rbac = true): Promise<void> {
  api = await startFakeApiServer(rbac ? { rbac: { namespace: NS, secret: TLS.secretName, webhookConfig: TLS.webhookConfigName } } : {});
  api.put(Kinds.MutatingWebhookConfiguration, webhookConfig());
}

function webhookConfig(caBundle?: string): Record<string, unknown> {
  const hook = (name: string) => ({
    name,
    clientConfig: { service: { name: SERVICE, namespace: NS, path: "/inject", port: 443 }, ...(caBundle !== undefined && { caBundle }) },
    admissionReviewVersions: ["v1"],
    sideEffects: "None",
  });
  return { metadata: { name: TLS.webhookConfigName }, webhooks: [hook("namespace.sidecar-injector.io"), hook("object.sidecar-injector.io")] };
}

async function replica(id: string, tls: TlsConfig = TLS, logger: Logger = silentLogger()): Promise<Replica> {
  const lifecycle: Lifecycle = { ready: true, draining: false };
  let certs: SelfManagedCerts | undefined;
  const app = testApp({ health: { ready: () => certs?.readiness().ready ?? false, draining: () => false } });
  const server = await startServer({ app, tls: null, port: 0, host: "127.0.0.1", logger: silentLogger(), lifecycle });
  const objects = await clusterObjects(api.kubeConfig(id), NS, 2000);
  certs = await startSelfManagedCerts({ objects, tls, names: NAMES, identity: id, logger, onMaterial: (m) => server.setCertificate(m) });
  const r: Replica = { id, certs, server, stopped: false };
  replicas.push(r);
  return r;
}

async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 8000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

/** The first webhook's caBundle as stored (base64), what kube-apiserver loads. */
function rawBundle(): string {
  const mwc = api.get(Kinds.MutatingWebhookConfiguration, TLS.webhookConfigName) as { webhooks: Array<{ clientConfig: { caBundle?: string } }> };
  return mwc.webhooks[0]?.clientConfig.caBundle ?? "";
}

function liveBundles(): string[][] {
  const mwc = api.get(Kinds.MutatingWebhookConfiguration, TLS.webhookConfigName) as { webhooks: Array<{ clientConfig: { caBundle?: string } }> };
  return mwc.webhooks.map((w) => decodeBundle(w.clientConfig.caBundle));
}

function secretState() {
  const s = api.get(Kinds.Secret, TLS.secretName, NS);
  return s ? decodeSecret(s as never) : null;
}

/** POST a review over a new TLS connection that trusts exactly the live caBundle, as the API server does. */
function review(r: Replica, ca = liveBundles()[0] ?? []): Promise<number> {
  const body = JSON.stringify(reviewFor(aPod()));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port: r.server.port, servername: HOST, ca: ca.join(""), method: "POST", path: "/inject", agent: false, headers: { "Content-Type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const leaders = () => replicas.filter((r) => !r.stopped && r.certs.isLeader());
const allReady = () => replicas.filter((r) => !r.stopped).every((r) => r.certs.readiness().ready);
async function crash(r: Replica): Promise<void> {
  r.stopped = true;
  await r.certs.stop({ crash: true });
  await r.server.close(200);
}

describe("self-managed certificates", () => {
  it("three replicas: one leader creates the Secret and the caBundle, every replica serves a certificate the bundle trusts", async () => {
    await start();
    await Promise.all(["r1", "r2", "r3"].map((id) => replica(id)));
    await until("all ready", allReady);
    expect(leaders()).toHaveLength(1);
    const state = secretState();
    expect(state?.caCert && state.cert && state.key && state.caKey).toBeTruthy();
    // Every PEM value of the Secret in our form (each block on its own lines, ending with a line break).
    const data = (api.get(Kinds.Secret, TLS.secretName, NS) as { data: Record<string, string> }).data;
    for (const [key, value] of Object.entries(data)) {
      const text = Buffer.from(value, "base64").toString("utf8");
      expect({ key, normal: normalizePem(text) === text }).toEqual({ key, normal: true });
    }
    for (const bundle of liveBundles()) expect(bundle.map(fingerprintOf)).toEqual([fingerprintOf(state?.caCert ?? "")]);
    for (const r of replicas) {
      expect(await review(r)).toBe(200);
      expect(r.certs.material()?.cert).toBe(state?.cert);
    }
    // Heartbeats name the CA each replica serves from (renewed every retry period, so shortly after readiness).
    const heartbeatCa = () => (api.get(Kinds.Lease, "injector-leader-r2", NS) as { metadata: { annotations?: Record<string, string> } } | undefined)?.metadata.annotations?.["sidecar-injector.io/serving-ca"];
    await until("r2's heartbeat names its CA", () => heartbeatCa() === fingerprintOf(state?.caCert ?? ""), 3000);
    expect(api.denied).toEqual([]);
  });

  it("a follower started before any Secret exists waits, not ready and without a certificate of its own", async () => {
    await start();
    // A live leader that never writes: the follower must wait for it.
    const ghost = () => ({ metadata: { name: TLS.leaseName, namespace: NS }, spec: { holderIdentity: "ghost", leaseDurationSeconds: 1, renewTime: microTime(Date.now()) } });
    api.put(Kinds.Lease, ghost());
    const renewing = setInterval(() => api.put(Kinds.Lease, { ...(api.get(Kinds.Lease, TLS.leaseName, NS) as object), ...ghost() }), 200);
    const f = await replica("follower");
    await sleep(800);
    expect(f.certs.readiness()).toEqual({ ready: false, reason: "waiting for the leader to publish the certificate Secret" });
    expect(f.certs.material()).toBeNull();
    expect(secretState()).toBeNull();
    await expect(review(f, [])).rejects.toThrow(/handshake|alert|EPROTO/i);
    clearInterval(renewing);
    await until("follower leads and serves", () => f.certs.isLeader() && f.certs.readiness().ready);
    expect(await review(f)).toBe(200);
  });

  it("an empty or garbled Secret is replaced by the leader, and nobody serves from it meanwhile", async () => {
    await start();
    api.put(Kinds.Secret, { metadata: { name: TLS.secretName, namespace: NS }, type: "Opaque", data: { "ca.crt": Buffer.from("garbage").toString("base64"), "tls.crt": "" } });
    const [r1, r2] = await Promise.all(["r1", "r2"].map((id) => replica(id)));
    await until("all ready", allReady);
    const state = secretState();
    expect(fingerprintOf(state?.caCert ?? "")).not.toBe("");
    expect(r1?.certs.material()?.cert).toBe(state?.cert);
    expect(r2?.certs.material()?.cert).toBe(state?.cert);
  });

  it("a crashed leader is replaced within the lease duration, and its successor keeps rotating", async () => {
    await start();
    const tls = { ...TLS, certValiditySeconds: 3 };
    await Promise.all(["r1", "r2", "r3"].map((id) => replica(id, tls)));
    await until("all ready", allReady);
    const [old] = leaders();
    await crash(old as Replica);
    const t0 = Date.now();
    const [next] = await until("a new leader", () => (leaders().length === 1 ? leaders() : false), 4000);
    // One lease duration after its last renewal, plus a retry period or two to notice (and a
    // margin for a loaded machine).
    expect(Date.now() - t0).toBeLessThan(tls.leaseDurationSeconds * 1000 + 1500);
    expect(next?.id).not.toBe(old?.id);
    // Certificates valid 3 s renew with 1 s left: the new leader issues at least two more.
    const seen = new Set<string>([secretState()?.cert ?? ""]);
    await until("two renewals by the new leader", () => {
      seen.add(secretState()?.cert ?? "");
      return seen.size >= 3;
    }, 8000);
    await until("survivors serve the latest", () => replicas.filter((r) => !r.stopped).every((r) => r.certs.material()?.cert === secretState()?.cert));
  });

  it("a deleted Secret is regenerated; the old CA stays trusted until every replica serves from the new one", async () => {
    await start();
    await Promise.all(["r1", "r2"].map((id) => replica(id)));
    await until("all ready", allReady);
    const oldCa = fingerprintOf(secretState()?.caCert ?? "");
    // The bundle's states in order: sampled every 5 ms (each lasts at least the 1 s settle delay),
    // with the first and the last taken explicitly so a late timer on a busy machine cannot miss them.
    const bundles = new Set<string>();
    const sample = () => bundles.add(liveBundles()[0]?.map(fingerprintOf).join(",") ?? "");
    sample();
    api.remove(Kinds.Secret, TLS.secretName, NS);
    const record = setInterval(sample, 5);
    await until("a new CA served by all", () => {
      const s = secretState();
      const ca = s?.caCert ? fingerprintOf(s.caCert) : "";
      return ca !== "" && ca !== oldCa && replicas.every((r) => issuerAmong(r.certs.material()?.cert ?? "", [s?.caCert ?? ""]) === ca) && allReady();
    });
    const newCa = fingerprintOf(secretState()?.caCert ?? "");
    await until("old CA dropped", () => liveBundles().every((b) => b.length === 1 && fingerprintOf(b[0] ?? "") === newCa));
    clearInterval(record);
    sample();
    expect([...bundles]).toEqual([oldCa, `${newCa},${oldCa}`, newCa]);
    expect(secretState()?.previousCas).toEqual([]);
  });

  it("during a CA rotation the leader never waits for itself: it counts what it serves from memory", async () => {
    await start();
    const logs = new Map<string, Array<{ msg: string; reason?: string }>>();
    const capture = (id: string) => {
      const lines: Array<{ msg: string; reason?: string }> = [];
      logs.set(id, lines);
      return createLogger("info", { write: (line: string) => void lines.push(JSON.parse(line)) });
    };
    await Promise.all(["r1", "r2"].map((id) => replica(id, TLS, capture(id))));
    await until("all ready", allReady);
    const oldCa = fingerprintOf(secretState()?.caCert ?? "");
    api.remove(Kinds.Secret, TLS.secretName, NS);
    await until("new CA everywhere, old one dropped", () => {
      const ca = fingerprintOf(secretState()?.caCert ?? "");
      return ca !== "" && ca !== oldCa && liveBundles().every((b) => b.length === 1 && fingerprintOf(b[0] ?? "") === ca) && allReady();
    });
    const leader = leaders()[0] as Replica;
    const lines = logs.get(leader.id) ?? [];
    expect(lines.some((l) => l.msg === "dropped the previous CA")).toBe(true);
    const waits = lines.filter((l) => l.msg === "certificate rotation waiting").map((l) => l.reason ?? "");
    expect(waits.filter((w) => w.split(/[:,] /).includes(leader.id))).toEqual([]);
  });

  it("a replica that starts while the Secret exists loads it without saying it waits for the leader", async () => {
    await start();
    await replica("r1");
    await until("ready", allReady);
    const lines: Array<{ level: string; msg: string }> = [];
    const r2 = await replica("r2", TLS, createLogger("info", { write: (line: string) => void lines.push(JSON.parse(line)) }));
    await until("r2 serves", () => r2.certs.material() !== null && r2.certs.readiness().ready);
    expect(lines.filter((l) => /waiting for the leader|no certificate Secret/.test(l.msg))).toEqual([]);
    expect(lines.some((l) => l.msg === "serving certificate loaded from the Secret")).toBe(true);
  });

  it("a caBundle reset by a GitOps sync is patched back within seconds", async () => {
    await start();
    await replica("r1");
    await until("ready", allReady);
    const good = liveBundles();
    api.put(Kinds.MutatingWebhookConfiguration, webhookConfig(""));
    const t0 = Date.now();
    await until("re-patched", () => liveBundles().every((b) => b.length === 1), 3000);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(liveBundles()).toEqual(good);
  });

  /**
   * A replica that served, then stopped (so nobody re-patches), a caBundle put in place by hand,
   * and a fresh replica (never leading: a ghost holds the Lease) that reads it and loads the Secret.
   */
  async function freshReplicaReading(bundle: (servedCa: string) => string, logger?: Logger): Promise<{ stopped: Replica; fresh: Replica }> {
    await start();
    const stopped = await replica("r1");
    await until("ready", allReady);
    await stopped.certs.stop({ crash: true });
    stopped.stopped = true;
    expect(stopped.certs.readiness().ready).toBe(true);
    api.put(Kinds.MutatingWebhookConfiguration, webhookConfig(Buffer.from(bundle(secretState()?.caCert ?? "")).toString("base64")));
    const ghost = { metadata: { name: TLS.leaseName, namespace: NS }, spec: { holderIdentity: "ghost", leaseDurationSeconds: 30, renewTime: microTime(Date.now()) } };
    api.put(Kinds.Lease, { ...(api.get(Kinds.Lease, TLS.leaseName, NS) as object), ...ghost });
    const fresh = await replica("r2", TLS, logger);
    await until("loaded", () => fresh.certs.material() !== null);
    return { stopped, fresh };
  }

  it("readiness follows the live caBundle: a bundle that does not trust the serving certificate makes the replica unready", async () => {
    const other = await generateCA({ commonName: "other", days: 1, now: new Date() });
    const { stopped, fresh } = await freshReplicaReading(() => other.cert);
    await until("unready", () => fresh.certs.readiness().ready === false);
    expect(fresh.certs.readiness().reason).toBe("the caBundle of namespace.sidecar-injector.io, object.sidecar-injector.io does not trust the serving certificate");
    await stopped.server.close(200);
  });

  it("a caBundle the API server cannot read (blocks glued together) makes a replica unready and is logged as an error", async () => {
    const other = await generateCA({ commonName: "other", days: 1, now: new Date() });
    const lines: Array<{ level: string; msg: string; webhooks?: unknown }> = [];
    const logger = createLogger("info", { write: (line: string) => void lines.push(JSON.parse(line)) });
    // What an older version published mid-rotation: Node's reader finds both CAs, Go's none.
    const { stopped, fresh } = await freshReplicaReading((served) => `${served.trimEnd()}${other.cert.trimEnd()}`, logger);
    await until("unready", () => fresh.certs.readiness().ready === false);
    expect(fresh.certs.readiness().reason).toBe(
      "the caBundle of namespace.sidecar-injector.io, object.sidecar-injector.io does not trust the serving certificate (unreadable certificates in namespace.sidecar-injector.io, object.sidecar-injector.io)",
    );
    const error = lines.find((l) => l.level === "error");
    expect(error?.msg).toMatch(/^the caBundle holds certificates the API server cannot read/);
    expect(error?.webhooks).toEqual([
      { name: "namespace.sidecar-injector.io", readable: 0, unreadable: 2 },
      { name: "object.sidecar-injector.io", readable: 0, unreadable: 2 },
    ]);
    await stopped.server.close(200);
  });

  it("rotates the CA and serving certificates under continuous HTTPS reviews pinned to the live caBundle, with no failed request", async () => {
    // Two clients call the replicas throughout: Node's, and (where Go is installed) a Go client
    // that reads the live caBundle with x509.CertPool.AppendCertsFromPEM and verifies the server
    // name <service>.<namespace>.svc, as kube-apiserver does.
    if (!hasGo) sayGoSkipped("test/tls/self-managed: the Go client during the rotation", "go is not installed");
    const go: ApiServerClient | null = hasGo ? startApiServerClient() : null;
    goProcess = go;
    await start();
    // A CA valid 15 s rotates with 5 s left; serving certificates valid 5 s renew with 1.7 s left
    // (X.509 times have whole seconds, and generating a key takes up to a second on a loaded machine).
    const tls = { ...TLS, caValiditySeconds: 15, certValiditySeconds: 5 };
    await Promise.all(["r1", "r2", "r3"].map((id) => replica(id, tls)));
    await until("all ready", allReady);
    const firstCa = fingerprintOf(secretState()?.caCert ?? "");
    const cas = new Set<string>();
    const certs = new Set<string>();
    const bundleSizes = new Set<number>();
    const outcomes: Array<number | string> = [];
    let running = true;
    const client = (async () => {
      for (let i = 0; running; i++) {
        const r = replicas[i % replicas.length] as Replica;
        const s = secretState();
        cas.add(fingerprintOf(s?.caCert ?? ""));
        certs.add(s?.cert ?? "");
        bundleSizes.add(liveBundles()[0]?.length ?? 0);
        outcomes.push(await review(r).catch((err: Error) => err.message));
      }
    })();
    // Every state the caBundle passes through, as stored, sampled often (each lasts at least the settle delay).
    const bundleStates = new Set<string>([rawBundle()]);
    const recordBundles = setInterval(() => bundleStates.add(rawBundle()), 5);
    const goOutcomes: string[] = [];
    const goClient = (async () => {
      if (go === null) return;
      const uid = "3f1c1e4a-0000-4000-8000-000000000001";
      for (let i = 0; running; i++) {
        const r = replicas[(i + 1) % replicas.length] as Replica;
        const caBundle = rawBundle();
        bundleStates.add(caBundle);
        const a = await go.call({ caBundle, url: `https://127.0.0.1:${r.server.port}/inject`, serverName: HOST, body: JSON.stringify(reviewFor(aPod(), { uid })) });
        goOutcomes.push(a.status === 200 && a.uid === uid ? "ok" : `status ${a.status}: ${a.error ?? "no uid"} (bundle of ${a.certs.length})`);
      }
    })();
    try {
      await until("CA rotated and the old one dropped", () => {
        const ca = fingerprintOf(secretState()?.caCert ?? "");
        return ca !== firstCa && liveBundles().every((b) => b.length === 1 && fingerprintOf(b[0] ?? "") === ca);
      }, 25_000);
    } finally {
      running = false;
      clearInterval(recordBundles);
      await Promise.all([client, goClient]);
    }
    bundleStates.add(rawBundle());
    expect(outcomes.filter((o) => o !== 200).slice(0, 5)).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(50);
    expect(cas.size).toBeGreaterThanOrEqual(2);
    expect(certs.size).toBeGreaterThanOrEqual(3);
    expect([...bundleSizes].sort()).toEqual([1, 2]);
    if (go !== null) {
      expect(goOutcomes.filter((o) => o !== "ok").slice(0, 5)).toEqual([]);
      expect(goOutcomes.length).toBeGreaterThan(50);
      // Each state of the rotation's bundle, read by Go: the CAs we meant, none lost; one and two CAs both seen.
      const readByGo = await Promise.all([...bundleStates].map(async (b) => ({ ours: decodeBundle(b).map(fingerprintOf), go: (await go.readBundle(b)).certs })));
      for (const r of readByGo) {
        expect(r.go).toEqual(r.ours);
        expect(r.go.length).toBeGreaterThanOrEqual(1);
      }
      expect(new Set(readByGo.map((r) => r.go.length))).toEqual(new Set([1, 2]));
    }
  }, 45_000);
});
