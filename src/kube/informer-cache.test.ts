import { afterEach, describe, expect, it } from "@jest/globals";
import type { V1Secret } from "@kubernetes/client-node";
import { type FakeApiServer, Kinds, startFakeApiServer } from "../../test/support/fake-apiserver.js";
import { waitFor } from "../../test/support/injector-process.js";
import { silentLogger } from "../log.js";
import { type InformerCache, startInformerCache } from "./informer-cache.js";
import { byName, clusterObjects } from "./objects.js";

let api: FakeApiServer | undefined;
let cache: InformerCache<V1Secret> | undefined;
afterEach(async () => {
  await cache?.stop();
  await api?.close();
  cache = undefined;
  api = undefined;
});

describe("informer cache (real client-node informer against the in-process API server)", () => {
  it.each([
    ["one object", ["certs"]],
    ["several objects", ["a", "b", "c", "d"]],
    ["no object", []],
  ])("its change callback after the first list already sees what was listed: %s", async (_name, names) => {
    api = await startFakeApiServer();
    for (const name of names) api.put(Kinds.Secret, { metadata: { name, namespace: "mesh" }, data: {} });
    const kc = api.kubeConfig();
    const { CoreV1Api } = await import("@kubernetes/client-node");
    const core = kc.makeApiClient(CoreV1Api);
    const seen: Array<{ synced: boolean; names: string[] }> = [];
    let c: InformerCache<V1Secret> | undefined;
    c = await startInformerCache<V1Secret>(kc, "secrets", "/api/v1/namespaces/mesh/secrets", () => core.listNamespacedSecret({ namespace: "mesh" }), silentLogger(), {
      onChange: () => seen.push({ synced: c?.isSynced() ?? false, names: (c?.list() ?? []).map((s) => s.metadata?.name ?? "").sort() }),
    });
    cache = c;
    expect(await waitFor(() => seen.length > 0)).toBe(true);
    // Every call, the first included, sees the whole list.
    expect(seen[0]).toEqual({ synced: true, names: [...names].sort() });
    expect(seen.every((s) => s.synced)).toBe(true);
  });

  it("a cache by name sees its one object on the first callback (the Secret a restarting replica reads)", async () => {
    api = await startFakeApiServer();
    api.put(Kinds.Secret, { metadata: { name: "certs", namespace: "mesh" }, data: { "tls.crt": "eA==" } });
    const objects = await clusterObjects(api.kubeConfig(), "mesh", 2000);
    const first: Array<V1Secret | undefined> = [];
    let c: InformerCache<V1Secret> | undefined;
    c = await startInformerCache<V1Secret>(objects.kubeConfig, "certificate secret", "/api/v1/namespaces/mesh/secrets", () => objects.secrets.listNamed("certs"), silentLogger(), {
      fieldSelector: byName("certs"),
      onChange: () => first.push(c?.get("certs", "mesh")),
    });
    cache = c;
    expect(await waitFor(() => first.length > 0)).toBe(true);
    expect(first[0]?.data).toEqual({ "tls.crt": "eA==" });
  });
});
