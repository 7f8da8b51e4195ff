/**
 * The built binary in tls.mode self-managed against the in-process API server (RBAC from the
 * call table enforced): probes on the plain port, the leader's log trail, a review over TLS pinned
 * to the caBundle it published, and on SIGTERM the Lease released and the heartbeat removed.
 */
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { decodeBundle } from "../../src/tls/rotation.js";
import { aPod, reviewFor } from "../support/builders.js";
import { type FakeApiServer, Kinds, startFakeApiServer, writeKubeconfig } from "../support/fake-apiserver.js";
import { type Started, assertBuilt, call, cleanupInjectors, startInjector, waitFor } from "../support/injector-process.js";

beforeAll(assertBuilt);

const NS = "mesh";
let api: FakeApiServer | undefined;
afterEach(async () => {
  cleanupInjectors();
  await api?.close();
});

async function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const probe = createNetServer().listen(0, "127.0.0.1", () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
}

const lines = (s: Started) =>
  s
    .logs()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg: string });

describe("serve with tls.mode self-managed", () => {
  it("elects itself, publishes the CA, serves a certificate the caBundle trusts, and cleans up on SIGTERM", async () => {
    api = await startFakeApiServer({
      rbac: { namespace: NS, secret: "sidecar-injector-certs", webhookConfig: "sidecar-injector" },
      version: { major: "1", minor: "30", gitVersion: "v1.30.2" },
    });
    api.put(Kinds.MutatingWebhookConfiguration, {
      metadata: { name: "sidecar-injector" },
      webhooks: [{ name: "namespace.sidecar-injector.io", clientConfig: { service: { name: "sidecar-injector", namespace: NS, path: "/inject" } } }],
    });
    const probePort = await freePort();
    const dir = (await import("node:fs")).mkdtempSync(join((await import("node:os")).tmpdir(), "injector-kube-"));
    const s = await startInjector(
      { server: { metricsPort: probePort, host: "127.0.0.1", shutdownDrainDelayMs: 0 }, tls: { leaseDurationSeconds: 2, renewDeadlineSeconds: 1.5, retryPeriodSeconds: 0.2 } },
      { KUBECONFIG: writeKubeconfig(join(dir, "kubeconfig"), api.url, "injector-0"), TLS_MODE: "self-managed", POD_NAMESPACE: NS, POD_NAME: "injector-0" },
    );
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${probePort}/readyz`);
      return { status: res.status, body: (await res.json()) as { status: string; reason: string } };
    };
    expect(await waitFor(async () => (await readyz()).status === 200, 8000)).toBe(true);
    expect((await readyz()).body).toEqual({ status: "ready", reason: "serving a certificate the caBundle trusts" });
    expect((await fetch(`http://127.0.0.1:${probePort}/healthz`)).status).toBe(200);

    const mwc = api.get(Kinds.MutatingWebhookConfiguration, "sidecar-injector") as { webhooks: Array<{ clientConfig: { caBundle: string } }> };
    const ca = decodeBundle(mwc.webhooks[0]?.clientConfig.caBundle).join("");
    const body = JSON.stringify(reviewFor(aPod()));
    const c = call(s, "POST", "/inject", body, ca);
    c.req.end(body);
    const res = await c.done;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).response.patch).toBeDefined();

    const trail = ["became the leader", "issued a new CA", "patched the caBundle", "issued a serving certificate", "serving certificate loaded from the Secret"];
    await waitFor(() => trail.every((m) => lines(s).some((l) => l.msg === m)), 3000);
    const messages = lines(s).map((l) => l.msg);
    for (const m of trail) expect(messages).toContain(m);
    const metrics = await (await fetch(`http://127.0.0.1:${probePort}/metrics`)).text();
    expect(metrics).toContain("sidecar_injector_leader 1");
    expect(metrics).toMatch(/sidecar_injector_certificate_expiry_timestamp_seconds\{certificate="ca"\} \d+/);
    expect(metrics).toContain('sidecar_injector_certificate_events_total{event="ca_bundle_patched"} 1');

    s.child.kill("SIGTERM");
    expect(await s.exit).toBe(0);
    expect((api.get(Kinds.Lease, "sidecar-injector-leader", NS) as { spec: { holderIdentity: string } }).spec.holderIdentity).toBe("");
    expect(api.get(Kinds.Lease, "sidecar-injector-leader-injector-0", NS)).toBeUndefined();
    expect(api.denied).toEqual([]);
  });

  it("refuses self-managed mode without a cluster, naming the fix", async () => {
    await expect(startInjector({ tls: { mode: "self-managed" } })).rejects.toThrow(/tls.mode self-managed needs a cluster/);
  });
});
