import { afterEach, describe, expect, it } from "@jest/globals";
import { type FakeApiServer, Kinds, startFakeApiServer } from "../../test/support/fake-apiserver.js";
import { waitFor } from "../../test/support/injector-process.js";
import { DEFAULT_ISTIO_CLUSTER_SOURCE, type IstioConfigMaps } from "../config/load-config.js";
import { KubeApiError } from "../errors.js";
import { silentLogger } from "../log.js";
import { type IstioConfigMapWatch, startIstioConfigMapWatch } from "./istio-configmaps.js";

const NS = "istio-system";
/** The injector's RBAC with istio.fromCluster on: the two ConfigMaps in istio-system, nothing more. */
const RBAC = { namespace: "sidecar-injector", secret: "s", webhookConfig: "w", istio: { namespace: NS, configMaps: ["istio-sidecar-injector", "istio"] } };

let api: FakeApiServer | undefined;
let watch: IstioConfigMapWatch | undefined;
afterEach(async () => {
  await watch?.stop();
  await api?.close();
  watch = undefined;
  api = undefined;
});

const injector = (values: string) => ({ metadata: { name: "istio-sidecar-injector", namespace: NS }, data: { values, config: "policy: enabled" } });
const mesh = (text: string) => ({ metadata: { name: "istio", namespace: NS }, data: { mesh: text } });
const valuesOf = (maps: IstioConfigMaps) => (maps.injector as { data?: { values?: string } } | undefined)?.data?.values;
const meshOf = (maps: IstioConfigMaps) => (maps.mesh as { data?: { mesh?: string } } | undefined)?.data?.mesh;

async function start(changes: IstioConfigMaps[], opts: { retryMs?: number; timeoutMs?: number } = {}): Promise<IstioConfigMapWatch> {
  watch = await startIstioConfigMapWatch((api as FakeApiServer).kubeConfig(), DEFAULT_ISTIO_CLUSTER_SOURCE, silentLogger(), { onChange: (m) => changes.push(m), retryMs: 50, ...opts });
  return watch;
}

describe("Istio's ConfigMaps (real client-node informers against the in-process API server)", () => {
  it.each([
    ["both", true, true],
    ["the injector's only (no mesh ConfigMap)", true, false],
    ["neither", false, false],
  ])("the first read holds what the cluster has: %s", async (_name, hasInjector, hasMesh) => {
    api = await startFakeApiServer({ rbac: RBAC });
    if (hasInjector) api.put(Kinds.ConfigMap, injector('{"global":{}}'));
    if (hasMesh) api.put(Kinds.ConfigMap, mesh("trustDomain: example.org\n"));
    // Another ConfigMap of the namespace is never read.
    api.put(Kinds.ConfigMap, { metadata: { name: "other", namespace: NS }, data: { values: "x" } });
    const w = await start([]);
    expect(valuesOf(w.current())).toBe(hasInjector ? '{"global":{}}' : undefined);
    expect(meshOf(w.current())).toBe(hasMesh ? "trustDomain: example.org\n" : undefined);
    expect(api.denied).toEqual([]);
  });

  it("hands over each change of the data, not of labels; a deleted ConfigMap as undefined", async () => {
    api = await startFakeApiServer({ rbac: RBAC });
    api.put(Kinds.ConfigMap, injector("{}"));
    const changes: IstioConfigMaps[] = [];
    await start(changes);
    expect(changes).toEqual([]);
    api.put(Kinds.ConfigMap, mesh("defaultConfig: {}\n"));
    expect(await waitFor(() => changes.length === 1)).toBe(true);
    expect(meshOf(changes[0] as IstioConfigMaps)).toBe("defaultConfig: {}\n");
    api.put(Kinds.ConfigMap, { ...injector("{}"), metadata: { ...injector("{}").metadata, labels: { a: "b" } } });
    api.put(Kinds.ConfigMap, injector('{"revision":"canary"}'));
    expect(await waitFor(() => changes.length === 2)).toBe(true);
    expect(valuesOf(changes[1] as IstioConfigMaps)).toBe('{"revision":"canary"}');
    api.remove(Kinds.ConfigMap, "istio", NS);
    expect(await waitFor(() => changes.length === 3)).toBe(true);
    expect(changes[2]?.mesh).toBeUndefined();
    expect(api.denied).toEqual([]);
  });

  it("a watch the server ends is opened again, and the next change still arrives", async () => {
    api = await startFakeApiServer({ rbac: RBAC });
    api.put(Kinds.ConfigMap, injector("{}"));
    const changes: IstioConfigMaps[] = [];
    await start(changes);
    expect(await waitFor(() => api?.watchers() === 2)).toBe(true);
    const watchesBefore = api.requests.filter((r) => r.includes("watch=true")).length;
    api.endWatches();
    expect(await waitFor(() => api?.watchers() === 2 && api.requests.filter((r) => r.includes("watch=true")).length >= watchesBefore + 2)).toBe(true);
    api.put(Kinds.ConfigMap, injector('{"global":{"hub":"r.example/istio"}}'));
    expect(await waitFor(() => changes.length === 1)).toBe(true);
    expect(valuesOf(changes[0] as IstioConfigMaps)).toBe('{"global":{"hub":"r.example/istio"}}');
  });

  it("after a 410 Gone it lists again and misses no change", async () => {
    api = await startFakeApiServer({ rbac: RBAC });
    api.put(Kinds.ConfigMap, injector("{}"));
    const changes: IstioConfigMaps[] = [];
    await start(changes);
    expect(await waitFor(() => api?.watchers() === 2)).toBe(true);
    const listsBefore = api.listCalls.length;
    api.put(Kinds.ConfigMap, mesh("a: 1\n"));
    expect(await waitFor(() => changes.length === 1)).toBe(true);
    api.compact();
    api.endWatches();
    api.put(Kinds.ConfigMap, mesh("a: 2\n"));
    expect(await waitFor(() => changes.length === 2)).toBe(true);
    expect(meshOf(changes[1] as IstioConfigMaps)).toBe("a: 2\n");
    expect(api.listCalls.length).toBeGreaterThan(listsBefore);
  });

  it("a first read the RBAC refuses fails the start, naming the ConfigMap and the refusal", async () => {
    api = await startFakeApiServer({ rbac: { ...RBAC, istio: { namespace: NS, configMaps: ["istio"] } } });
    api.put(Kinds.ConfigMap, injector("{}"));
    const failure = await start([]).catch((err: unknown) => err);
    watch = undefined;
    expect(failure).toBeInstanceOf(KubeApiError);
    expect((failure as Error).message).toMatch(/^cannot read ConfigMap istio-system\/istio-sidecar-injector \(istio\.fromCluster\): list configmaps istio-system \(istio-sidecar-injector\) failed \(HTTP 403\)/);
    // Nothing keeps running after a failed start.
    expect(await waitFor(() => api?.watchers() === 0)).toBe(true);
  });
});
