import { afterEach, describe, expect, it } from "@jest/globals";
import { type FakeKube, fakeNamespaces, sendStatus, startFakeKube } from "../../test/support/fake-kube.js";
import { waitFor } from "../../test/support/injector-process.js";
import { silentLogger } from "../log.js";
import { type NamespaceCache, startNamespaceCache } from "./namespace-cache.js";

let fake: FakeKube | undefined;
let cache: NamespaceCache | undefined;
afterEach(async () => {
  await cache?.stop();
  await fake?.close();
  cache = undefined;
  fake = undefined;
});

describe("namespace cache (real client-node informer against a fake API server)", () => {
  it("lists, then follows the watch: added, modified and deleted namespaces", async () => {
    const ns = fakeNamespaces({ shop: { "istio-injection": "enabled", "pod-security.kubernetes.io/enforce": "baseline" } });
    fake = await startFakeKube(ns.routes);
    cache = await startNamespaceCache(fake.kubeConfig(), silentLogger());
    expect(await waitFor(() => cache?.isSynced() === true)).toBe(true);
    expect(cache.labelsOf("shop")).toEqual({ "istio-injection": "enabled", "pod-security.kubernetes.io/enforce": "baseline" });
    expect(cache.labelsOf("nowhere")).toBeUndefined();
    expect(await waitFor(() => ns.watchers() > 0)).toBe(true);

    ns.set("shop", { "istio-injection": "enabled" });
    ns.set("data", { team: "db" });
    expect(await waitFor(() => cache?.labelsOf("data")?.team === "db" && cache.labelsOf("shop")?.["pod-security.kubernetes.io/enforce"] === undefined)).toBe(true);
    ns.remove("data");
    expect(await waitFor(() => cache?.labelsOf("data") === undefined)).toBe(true);
    expect(fake.requests.filter((r) => r === "GET /api/v1/namespaces").length).toBeGreaterThanOrEqual(2); // a list and a watch
  });

  it("misses no change made between its list and its watch (the watch starts at the list's resourceVersion)", async () => {
    const ns = fakeNamespaces({ shop: { a: "b" } });
    let lists = 0;
    fake = await startFakeKube({
      "GET /api/v1/namespaces": (req, res) => {
        const watching = (req.url ?? "").includes("watch=true");
        ns.routes["GET /api/v1/namespaces"]?.(req, res);
        // The first list has been answered: change things before any watch is open.
        if (!watching && ++lists === 1) {
          ns.set("shop", { a: "c" });
          ns.set("data", { team: "db" });
        }
      },
    });
    cache = await startNamespaceCache(fake.kubeConfig(), silentLogger());
    expect(await waitFor(() => cache?.labelsOf("data")?.team === "db" && cache.labelsOf("shop")?.a === "c")).toBe(true);
    expect(lists).toBe(1);
  });

  it("answers unknown, and keeps trying, when it may not list namespaces", async () => {
    let allowed = false;
    const ns = fakeNamespaces({ shop: { a: "b" } });
    fake = await startFakeKube({
      "GET /api/v1/namespaces": (req, res) => {
        if (!allowed) sendStatus(res, 403, "Forbidden", 'namespaces is forbidden: User "system:serviceaccount:x:y" cannot list resource "namespaces"');
        else ns.routes["GET /api/v1/namespaces"]?.(req, res);
      },
    });
    cache = await startNamespaceCache(fake.kubeConfig(), silentLogger(), { retryMs: 50 });
    await new Promise((r) => setTimeout(r, 100));
    expect(cache.isSynced()).toBe(false);
    expect(cache.labelsOf("shop")).toBeUndefined();
    allowed = true;
    expect(await waitFor(() => cache?.labelsOf("shop")?.a === "b")).toBe(true);
  });
});
