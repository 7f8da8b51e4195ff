/**
 * istio.fromCluster, end to end: the built binary reads Istio's ConfigMaps from a (fake) cluster
 * through the real client, renders from them, and follows their changes without a restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { aPod, reviewFor } from "../support/builders.js";
import { type FakeApiServer, Kinds, startFakeApiServer, writeKubeconfig } from "../support/fake-apiserver.js";
import { type Started, assertBuilt, cleanupInjectors, get, postReview, startInjector, waitFor } from "../support/injector-process.js";
import { INJECTOR_NAMES } from "../support/report-auth.js";

beforeAll(assertBuilt);

const NS = "istio-system";
let fake: FakeApiServer | undefined;
const dirs: string[] = [];
afterEach(async () => {
  cleanupInjectors();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await fake?.close();
  fake = undefined;
});

type Json = Record<string, any>;
const injectorMap = (values: unknown) => ({ metadata: { name: "istio-sidecar-injector", namespace: NS }, data: { values: JSON.stringify(values), config: "policy: enabled\n" } });
const meshMap = (mesh: string) => ({ metadata: { name: "istio", namespace: NS }, data: { mesh } });

/** A fake cluster enforcing the injector's RBAC with the istio-from-cluster grant; its kubeconfig. */
async function cluster(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
  dirs.push(dir);
  fake = await startFakeApiServer({
    version: { major: "1", minor: "28", gitVersion: "v1.28.0" },
    rbac: { ...INJECTOR_NAMES, istio: { namespace: NS, configMaps: ["istio-sidecar-injector", "istio"] } },
  });
  return writeKubeconfig(join(dir, "kubeconfig"), fake.url, "t");
}

/** The injected proxy container (classic mode: last, or first when it holds the app). */
async function proxyOf(s: Started): Promise<Json> {
  const res = await postReview(s, reviewFor(aPod()));
  expect(res.status).toBe(200);
  const ops = JSON.parse(Buffer.from((JSON.parse(res.body).response as { patch: string }).patch, "base64").toString()) as Json[];
  return ops.find((o) => /^\/spec\/containers\/\d+$/.test(o.path) && o.value?.name === "istio-proxy")?.value as Json;
}
const lastReload = async (s: Started) => /^sidecar_injector_config_last_reload_successful (\d)$/m.exec((await get(s, "/metrics")).body)?.[1];
const count = (s: Started, text: string) => s.logs().split("\n").filter((l) => l.includes(text)).length;

describe("istio.fromCluster", () => {
  it("renders from the ConfigMaps, follows each change without a restart, refuses a bad one and keeps the last good, and survives an ended watch", async () => {
    const kubeconfig = await cluster();
    fake?.put(Kinds.ConfigMap, injectorMap({ global: { proxy: { resources: { limits: { cpu: "1500m", memory: "1Gi" } } } } }));
    fake?.put(Kinds.ConfigMap, meshMap("defaultConfig:\n  holdApplicationUntilProxyStarts: false\n"));
    const s = await startInjector({ istio: { fromCluster: {} }, nativeSidecars: "false" }, { KUBECONFIG: kubeconfig });
    expect(s.logs()).toContain("Istio's settings come from the cluster's ConfigMaps (istio.fromCluster), watched");
    const first = await proxyOf(s);
    expect(first.resources.limits).toEqual({ cpu: "1500m", memory: "1Gi" });
    expect(first.lifecycle).toBeUndefined();

    // A change of the mesh: the next injection holds the app until the proxy starts.
    fake?.put(Kinds.ConfigMap, meshMap("defaultConfig:\n  holdApplicationUntilProxyStarts: true\n"));
    expect(await waitFor(() => count(s, "configuration reloaded: Istio's ConfigMaps changed") === 1)).toBe(true);
    expect((await proxyOf(s)).lifecycle?.postStart?.exec?.command).toEqual(["pilot-agent", "wait"]);
    expect(await lastReload(s)).toBe("1");

    // Values with an unknown key and a wrong type: refused, every problem logged, the last good kept.
    fake?.put(Kinds.ConfigMap, injectorMap({ global: { proxy: { resourcez: {}, statusPort: "x" } } }));
    expect(await waitFor(() => s.logs().includes("the configuration they give is refused; keeping the current one"))).toBe(true);
    const refusal = s.logs().split("\n").find((l) => l.includes("the configuration they give is refused")) as string;
    expect(JSON.parse(refusal).problems).toEqual([
      expect.stringContaining("ConfigMap istio-system/istio-sidecar-injector: values.global.proxy.resourcez is not a key Istio's injector reads"),
      "ConfigMap istio-system/istio-sidecar-injector: values.global.proxy.statusPort (as sidecar.statusPort) must be an integer from 0 to 65535",
    ]);
    expect(await lastReload(s)).toBe("0");
    const kept = await proxyOf(s);
    expect(kept.resources.limits).toEqual({ cpu: "1500m", memory: "1Gi" });
    expect(kept.lifecycle?.postStart).toBeDefined();

    // The API server ends the watches (their timeout): they are opened again, and the fix arrives.
    const watchesBefore = (fake?.requests ?? []).filter((r) => r.includes("watch=true")).length;
    fake?.endWatches();
    expect(await waitFor(() => (fake?.requests ?? []).filter((r) => r.includes("watch=true")).length >= watchesBefore + 2 && fake?.watchers() === 3)).toBe(true);
    fake?.put(Kinds.ConfigMap, injectorMap({ global: { proxy: { resources: { limits: { cpu: "500m", memory: "256Mi" } } } } }));
    expect(await waitFor(() => count(s, "configuration reloaded: Istio's ConfigMaps changed") === 2)).toBe(true);
    expect((await proxyOf(s)).resources.limits).toEqual({ cpu: "500m", memory: "256Mi" });
    expect(await lastReload(s)).toBe("1");
    expect(fake?.denied).toEqual([]);
  });

  it.each([
    ["an injector ConfigMap without values", () => fake?.put(Kinds.ConfigMap, { metadata: { name: "istio-sidecar-injector", namespace: NS }, data: { config: "{}" } }), "ConfigMap istio-system/istio-sidecar-injector: a ConfigMap without data.values"],
    ["no injector ConfigMap", () => undefined, "ConfigMap istio-system/istio-sidecar-injector (istio.fromCluster) was not found"],
  ])("does not start with %s, and says why", async (_name, setUp, problem) => {
    const kubeconfig = await cluster();
    setUp();
    const failure = await startInjector({ istio: { fromCluster: {} } }, { KUBECONFIG: kubeconfig }).catch((err: Error) => err.message);
    expect(failure).toContain("server exited early");
    expect(failure).toContain(problem);
  });

  it("does not start without a cluster", async () => {
    const failure = await startInjector({ istio: { fromCluster: {} } }).catch((err: Error) => err.message);
    expect(failure).toContain("istio.fromCluster reads the cluster: run in a pod, or set KUBECONFIG");
  });
});
