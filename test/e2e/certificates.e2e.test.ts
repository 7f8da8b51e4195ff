/**
 * Self-managed certificates against a real cluster, opt-in (`npm run test:e2e` with KUBECONFIG):
 * two replicas run in this process with the caller's credentials, in a throwaway namespace, with
 * a throwaway MutatingWebhookConfiguration whose one webhook matches no object (so it never
 * affects the cluster). Checks: one leader, the Secret and the caBundle written, a crashed leader
 * replaced, a deleted Secret regenerated, a reset caBundle re-patched. Everything is deleted
 * afterwards. Without KUBECONFIG the suite is skipped and says so.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { DEFAULT_CONFIG, type TlsConfig } from "../../src/config/config.js";
import { clusterObjects } from "../../src/kube/objects.js";
import { silentLogger } from "../../src/log.js";
import { decodeBundle, fingerprintOf } from "../../src/tls/rotation.js";
import { type SelfManagedCerts, decodeSecret, startSelfManagedCerts } from "../../src/tls/self-managed.js";

const kubeconfig = process.env.KUBECONFIG;
const suite = kubeconfig ? describe : describe.skip;
if (!kubeconfig) {
  process.stdout.write("test/e2e/certificates: SKIPPED — KUBECONFIG is not set; set it to run the certificate suite against a real cluster.\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, check: () => Promise<T | false | undefined>, ms = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(250);
  }
}

suite("self-managed certificates on a real cluster", () => {
  const kc = new KubeConfig();
  const suffix = randomBytes(3).toString("hex");
  const namespace = `sidecar-injector-certs-e2e-${suffix}`;
  const tls: TlsConfig = {
    ...DEFAULT_CONFIG.tls,
    mode: "self-managed",
    secretName: "e2e-certs",
    webhookConfigName: `sidecar-injector-certs-e2e-${suffix}`,
    leaseName: "e2e-leader",
    leaseDurationSeconds: 4,
    renewDeadlineSeconds: 3,
    retryPeriodSeconds: 1,
    resyncSeconds: 10,
  };
  const names = ["e2e", `e2e.${namespace}`, `e2e.${namespace}.svc`, `e2e.${namespace}.svc.cluster.local`];
  let core: CoreV1Api;
  let admission: AdmissionregistrationV1Api;
  const replicas: SelfManagedCerts[] = [];

  const secret = async () => decodeSecret(await core.readNamespacedSecret({ name: tls.secretName, namespace }));
  const bundles = async () =>
    ((await admission.readMutatingWebhookConfiguration({ name: tls.webhookConfigName })).webhooks ?? []).map((w) => decodeBundle(w.clientConfig.caBundle));

  beforeAll(async () => {
    kc.loadFromDefault();
    core = kc.makeApiClient(CoreV1Api);
    admission = kc.makeApiClient(AdmissionregistrationV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await admission.createMutatingWebhookConfiguration({
      body: {
        metadata: { name: tls.webhookConfigName },
        webhooks: [
          {
            name: "never.sidecar-injector.io",
            clientConfig: { service: { name: "e2e", namespace, path: "/inject", port: 443 } },
            rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
            objectSelector: { matchLabels: { [`sidecar-injector-e2e-${suffix}`]: "never-set" } },
            sideEffects: "None",
            admissionReviewVersions: ["v1"],
            failurePolicy: "Ignore",
            timeoutSeconds: 1,
          },
        ],
      },
    });
    for (const id of ["e2e-a", "e2e-b"]) {
      const objects = await clusterObjects(kc, namespace, 10_000);
      replicas.push(await startSelfManagedCerts({ objects, tls, names, identity: id, logger: silentLogger(), onMaterial: () => undefined }));
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop().catch(() => undefined)));
    await admission?.deleteMutatingWebhookConfiguration({ name: tls.webhookConfigName }).catch(() => undefined);
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  }, 60_000);

  it("elects one leader, which writes the Secret and the caBundle; both replicas become ready", async () => {
    await until("both ready", async () => replicas.every((r) => r.readiness().ready));
    expect(replicas.filter((r) => r.isLeader())).toHaveLength(1);
    const s = await secret();
    expect((await bundles())[0]?.map(fingerprintOf)).toEqual([fingerprintOf(s.caCert ?? "")]);
  }, 90_000);

  it("re-patches a caBundle reset by someone else", async () => {
    const good = await bundles();
    await admission.patchMutatingWebhookConfiguration({
      name: tls.webhookConfigName,
      body: [{ op: "replace", path: "/webhooks/0/clientConfig/caBundle", value: "" }],
    });
    await until("re-patched", async () => ((await bundles())[0]?.length ?? 0) > 0, 20_000);
    expect(await bundles()).toEqual(good);
  }, 30_000);

  it("regenerates a deleted Secret and moves both replicas to the new CA", async () => {
    const oldCa = fingerprintOf((await secret()).caCert ?? "");
    await core.deleteNamespacedSecret({ name: tls.secretName, namespace });
    const newCa = await until("a new CA", async () => {
      const fp = fingerprintOf((await secret()).caCert ?? "");
      return fp !== "" && fp !== oldCa ? fp : false;
    });
    await until("old CA dropped from the bundle", async () => (await bundles()).every((b) => b.length === 1 && fingerprintOf(b[0] ?? "") === newCa));
    await until("both ready", async () => replicas.every((r) => r.readiness().ready));
  }, 120_000);

  it("replaces a crashed leader within about one lease duration", async () => {
    const leader = replicas.find((r) => r.isLeader()) as SelfManagedCerts;
    await leader.stop({ crash: true });
    const start = Date.now();
    await until("a new leader", async () => replicas.some((r) => r !== leader && r.isLeader()), 30_000);
    expect(Date.now() - start).toBeLessThan((tls.leaseDurationSeconds + 3 * tls.retryPeriodSeconds) * 1000 + 2000);
  }, 60_000);
});
