import { afterEach, describe, expect, it } from "@jest/globals";
import { type FakeApiServer, Kinds, startFakeApiServer } from "../../test/support/fake-apiserver.js";
import { waitFor } from "../../test/support/injector-process.js";
import { silentLogger } from "../log.js";
import type { InformerCache } from "./informer-cache.js";
import { startPagedInformer } from "./paged-informer.js";
import { trimForReports } from "./trim.js";

type Json = Record<string, unknown>;
let fake: FakeApiServer | undefined;
let cache: InformerCache<Json> | undefined;
afterEach(async () => {
  await cache?.stop();
  await fake?.close();
  cache = undefined;
  fake = undefined;
});

const pod = (name: string, extra: Json = {}) => ({
  metadata: { name, namespace: "shop", managedFields: [{ manager: "kubelet" }], ownerReferences: [{ kind: "ReplicaSet", name: "rs", controller: true }] },
  spec: { containers: [{ name: "app", image: "app:1", env: [{ name: "A", value: "1" }] }] },
  ...extra,
});
const names = () => (cache?.list() ?? []).map((o) => (o.metadata as { name: string }).name).sort();

async function start(server: FakeApiServer): Promise<InformerCache<Json>> {
  cache = await startPagedInformer(server.kubeConfig(), "pods", "/api/v1/pods", silentLogger(), {
    transform: (o) => trimForReports("Pod", o),
    pageSize: 100,
    retryMs: 50,
  });
  expect(await waitFor(() => cache?.isSynced() === true)).toBe(true);
  return cache;
}

describe("paged informer (real client-node watch against the in-process API server)", () => {
  it("lists in pages, keeps trimmed objects, and follows the watch with trimmed objects too", async () => {
    fake = await startFakeApiServer();
    for (let i = 0; i < 250; i++) fake.put(Kinds.Pod, pod(`p-${String(i).padStart(3, "0")}`));
    const c = await start(fake);
    expect(fake.listCalls.map((l) => [l.limit, l.items])).toEqual([
      [100, 100],
      [100, 100],
      [100, 50],
    ]);
    expect(c.list()).toHaveLength(250);
    expect(c.get("p-007", "shop")).toEqual(trimForReports("Pod", fake.get(Kinds.Pod, "p-007", "shop") as Json));
    expect(((c.get("p-007", "shop") as Json).metadata as Json).managedFields).toBeUndefined();

    fake.put(Kinds.Pod, pod("late", { status: { phase: "Running", conditions: [{ type: "Ready" }] } }));
    fake.remove(Kinds.Pod, "p-000", "shop");
    expect(await waitFor(() => c.get("late", "shop") !== undefined && c.get("p-000", "shop") === undefined)).toBe(true);
    expect(c.get("late", "shop")).toEqual(trimForReports("Pod", fake.get(Kinds.Pod, "late", "shop") as Json));
    expect((c.get("late", "shop") as Json).status).toEqual({ phase: "Running" });
    expect(c.list()).toHaveLength(250);
  });

  it("opens the watch again where it stopped when the server ends it", async () => {
    fake = await startFakeApiServer();
    fake.put(Kinds.Pod, pod("a"));
    const c = await start(fake);
    const lists = fake.listCalls.length;
    fake.endWatches();
    expect(await waitFor(() => fake?.watchers() === 1)).toBe(true);
    fake.put(Kinds.Pod, pod("b"));
    expect(await waitFor(() => c.get("b", "shop") !== undefined)).toBe(true);
    expect(fake.listCalls).toHaveLength(lists); // no new list: the watch went on from its resourceVersion
  });

  it("lists again after 410 Gone, dropping what was deleted meanwhile and keeping its answers readable", async () => {
    fake = await startFakeApiServer();
    for (const n of ["a", "b", "c"]) fake.put(Kinds.Pod, pod(n));
    const c = await start(fake);
    const lists = fake.listCalls.length;
    // While no watch is open, b goes away and d arrives; the history is compacted past them.
    const server = fake;
    server.endWatches();
    server.remove(Kinds.Pod, "b", "shop");
    server.put(Kinds.Pod, pod("d"));
    server.compact();
    expect(await waitFor(() => names().join(",") === "a,c,d")).toBe(true);
    expect(server.listCalls.length).toBeGreaterThan(lists);
    expect(c.isSynced()).toBe(true);
  });

  it("is not synced, with the API server's reason, while it may not list; syncs once allowed", async () => {
    let forbidden = true;
    fake = await startFakeApiServer({
      intercept: (req, res) => {
        if (!forbidden || !req.url?.startsWith("/api/v1/pods")) return false;
        res.writeHead(403, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ kind: "Status", status: "Failure", reason: "Forbidden", code: 403, message: 'pods is forbidden: User "x" cannot list resource "pods"' }));
        return true;
      },
    });
    fake.put(Kinds.Pod, pod("a"));
    cache = await startPagedInformer(fake.kubeConfig(), "pods", "/api/v1/pods", silentLogger(), { transform: (o) => trimForReports("Pod", o), retryMs: 50 });
    expect(await waitFor(() => cache?.lastError?.() !== undefined)).toBe(true);
    expect(cache.isSynced()).toBe(false);
    expect(cache.list()).toEqual([]);
    expect(cache.lastError?.()).toMatch(/HTTP 403.*cannot list resource "pods"/);
    forbidden = false;
    expect(await waitFor(() => cache?.isSynced() === true)).toBe(true);
    expect(names()).toEqual(["a"]);
  });
});
