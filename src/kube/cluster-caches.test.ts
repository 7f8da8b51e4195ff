import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { testContext } from "../../test/support/builders.js";
import { type FakeApiServer, Kinds, startFakeApiServer } from "../../test/support/fake-apiserver.js";
import { waitFor } from "../../test/support/injector-process.js";
import { auditCluster, flattenObjects } from "../audit/audit.js";
import { silentLogger } from "../log.js";
import { type ClusterCaches, startClusterCaches } from "./snapshot.js";

let fake: FakeApiServer | undefined;
let caches: ClusterCaches | undefined;
afterEach(async () => {
  await caches?.stop();
  await fake?.close();
  caches = undefined;
  fake = undefined;
});

describe("cluster caches (informers against a fake API server)", () => {
  it("give the same audit as the snapshot file, and follow the watch", async () => {
    const template = testContext().template;
    const text = readFileSync(join(import.meta.dirname, "..", "..", "test", "audit", "testdata", "findings.json"), "utf8");
    const objects = flattenObjects([JSON.parse(text.replaceAll("$CURRENT_TEMPLATE_HASH", template.hash))]);
    fake = await startFakeApiServer();
    for (const o of objects) fake.put(Kinds[o.kind as keyof typeof Kinds], o);
    caches = await startClusterCaches(fake.kubeConfig(), silentLogger());
    // The snapshot is there once the required kinds are listed; the optional webhook
    // configurations may come a moment later (until then the audit says it could not list them).
    expect(await waitFor(() => caches?.snapshot() !== null)).toBe(true);
    expect(await waitFor(() => caches?.snapshot()?.webhookConfigsListed === true)).toBe(true);
    const first = caches.snapshot();
    expect(auditCluster(first?.objects ?? [], { template })).toEqual(auditCluster(objects, { template }));

    fake.put(Kinds.Pod, { metadata: { name: "late-1", namespace: "shop", labels: { app: "late" } }, spec: { containers: [{ name: "app" }] } });
    expect(
      await waitFor(() => (caches?.snapshot()?.objects ?? []).some((o) => (o.metadata as { name?: string }).name === "late-1")),
    ).toBe(true);
    const after = auditCluster(caches.snapshot()?.objects ?? [], { template });
    expect(after.findings.some((f) => f.object === "Pod/shop/late-1" && f.code === "missing_sidecar")).toBe(true);

    // One namespace (GET /explain): its Namespace, its objects and every webhook configuration, nothing else.
    const key = (o: Record<string, unknown>) => {
      const m = o.metadata as { name?: string; namespace?: string };
      return `${String(o.kind)}/${m.namespace ?? ""}/${m.name ?? ""}`;
    };
    const all = caches.snapshot()?.objects ?? [];
    const wanted = all.filter((o) => {
      const m = o.metadata as { name?: string; namespace?: string };
      return o.kind === "MutatingWebhookConfiguration" || (o.kind === "Namespace" ? m.name === "shop" : m.namespace === "shop");
    });
    expect(wanted.length).toBeLessThan(all.length);
    expect(wanted.some((o) => o.kind === "Pod")).toBe(true);
    expect((caches.snapshot("shop")?.objects ?? []).map(key).sort()).toEqual(wanted.map(key).sort());
  });
});
