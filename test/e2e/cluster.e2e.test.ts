/**
 * End-to-end tests against a real cluster, opt-in: they run only when KUBECONFIG is set, and
 * expect the injector to be deployed there with its webhook configuration (see README "Deploy").
 * Without KUBECONFIG the suite is skipped and says so.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { makeKubeClients } from "../../src/kube/client.js";
import { fetchClusterVersion } from "../../src/kube/cluster-version.js";

const kubeconfig = process.env.KUBECONFIG;
const suite = kubeconfig ? describe : describe.skip;
if (!kubeconfig) {
  process.stdout.write("test/e2e: SKIPPED — KUBECONFIG is not set; set it to run the end-to-end suite against a real cluster.\n");
}

suite("against a real cluster", () => {
  const kc = new KubeConfig();
  let core: CoreV1Api;
  const namespace = `sidecar-injector-e2e-${randomBytes(3).toString("hex")}`;

  beforeAll(async () => {
    kc.loadFromDefault();
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { "istio-injection": "enabled" } } } });
  });

  afterAll(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it("learns the cluster version", async () => {
    const v = await fetchClusterVersion(await makeKubeClients(kc), 10_000);
    expect(v.major).toBeGreaterThanOrEqual(1);
  });

  it("injects a pod created in a labelled namespace (server-side dry run)", async () => {
    const pod = await core.createNamespacedPod({
      namespace,
      dryRun: "All",
      body: { metadata: { name: "e2e-web", labels: { app: "e2e-web" } }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } },
    });
    const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(["web", "istio-proxy", "istio-init"]));
    expect(pod.metadata?.annotations?.["sidecar.istio.io/status"]).toBeDefined();
  });

  it("leaves an opted-out pod alone", async () => {
    const pod = await core.createNamespacedPod({
      namespace,
      dryRun: "All",
      body: {
        metadata: { name: "e2e-opt-out", labels: { "sidecar.istio.io/inject": "false" } },
        spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
      },
    });
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(["web"]);
  });
});
