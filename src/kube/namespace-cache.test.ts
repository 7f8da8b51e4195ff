import { afterEach, describe, expect, it } from "@jest/globals";
import { type FakeApiServer, Kinds, startFakeApiServer } from "../../test/support/fake-apiserver.js";
import { sendStatus } from "../../test/support/fake-kube.js";
import { waitFor } from "../../test/support/injector-process.js";
import { silentLogger } from "../log.js";
import { type NamespaceCache, startNamespaceCache } from "./namespace-cache.js";

let api: FakeApiServer | undefined;
let cache: NamespaceCache | undefined;
afterEach(async () => {
  await cache?.stop();
  await api?.close();
  cache = undefined;
  api = undefined;
});

const namespace = (name: string, labels: Record<string, string>) => ({ metadata: { name, labels } });
const isNamespaces = (url: string | undefined) => (url ?? "").split("?")[0] === "/api/v1/namespaces";
const isNamespaceList = (url: string | undefined) => isNamespaces(url) && !(url ?? "").includes("watch=true");

describe("namespace cache (real client-node informer against a fake API server)", () => {
  it("lists, then follows the watch: added, modified and deleted namespaces", async () => {
    api = await startFakeApiServer();
    api.put(Kinds.Namespace, namespace("shop", { "istio-injection": "enabled", "pod-security.kubernetes.io/enforce": "baseline" }));
    cache = await startNamespaceCache(api.kubeConfig(), silentLogger());
    expect(await waitFor(() => cache?.isSynced() === true)).toBe(true);
    expect(cache.labelsOf("shop")).toEqual({ "istio-injection": "enabled", "pod-security.kubernetes.io/enforce": "baseline" });
    expect(cache.labelsOf("nowhere")).toBeUndefined();
    expect(await waitFor(() => (api?.watchers() ?? 0) > 0)).toBe(true);

    api.put(Kinds.Namespace, namespace("shop", { "istio-injection": "enabled" }));
    api.put(Kinds.Namespace, namespace("data", { team: "db" }));
    expect(await waitFor(() => cache?.labelsOf("data")?.team === "db" && cache.labelsOf("shop")?.["pod-security.kubernetes.io/enforce"] === undefined)).toBe(true);
    api.remove(Kinds.Namespace, "data");
    expect(await waitFor(() => cache?.labelsOf("data") === undefined)).toBe(true);
    expect(api.requests.filter((r) => r.startsWith("GET /api/v1/namespaces")).length).toBeGreaterThanOrEqual(2); // a list and a watch
  });

  it("misses no change made between its list and its watch (the watch starts at the list's resourceVersion)", async () => {
    let lists = 0;
    const server: FakeApiServer = await startFakeApiServer({
      intercept: (req, res) => {
        // Once the first list is answered, change things before any watch is open.
        if (isNamespaceList(req.url) && ++lists === 1) {
          res.on("finish", () => {
            server.put(Kinds.Namespace, namespace("shop", { a: "c" }));
            server.put(Kinds.Namespace, namespace("data", { team: "db" }));
          });
        }
        return false;
      },
    });
    api = server;
    api.put(Kinds.Namespace, namespace("shop", { a: "b" }));
    cache = await startNamespaceCache(api.kubeConfig(), silentLogger());
    expect(await waitFor(() => cache?.labelsOf("data")?.team === "db" && cache.labelsOf("shop")?.a === "c")).toBe(true);
    expect(lists).toBe(1);
  });

  it("answers unknown, and keeps trying, when it may not list namespaces", async () => {
    let allowed = false;
    api = await startFakeApiServer({
      intercept: (req, res) => {
        if (allowed || !isNamespaces(req.url)) return false;
        sendStatus(res, 403, "Forbidden", 'namespaces is forbidden: User "system:serviceaccount:x:y" cannot list resource "namespaces"');
        return true;
      },
    });
    api.put(Kinds.Namespace, namespace("shop", { a: "b" }));
    cache = await startNamespaceCache(api.kubeConfig(), silentLogger(), { retryMs: 50 });
    await new Promise((r) => setTimeout(r, 100));
    expect(cache.isSynced()).toBe(false);
    expect(cache.labelsOf("shop")).toBeUndefined();
    allowed = true;
    expect(await waitFor(() => cache?.labelsOf("shop")?.a === "b")).toBe(true);
  });
});
