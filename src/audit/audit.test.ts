import { beforeAll, describe, expect, it } from "@jest/globals";
import { testContext } from "../../test/support/builders.js";
import { generateCA } from "../tls/certificates.js";
import { auditCluster } from "./audit.js";

// Real CAs: the caBundle is read as the API server reads it, which keeps only parsable certificates.
let CA_A = "";
let CA_B = "";
beforeAll(async () => {
  const now = new Date();
  CA_A = (await generateCA({ commonName: "A", days: 30, now })).cert;
  CA_B = (await generateCA({ commonName: "B", days: 30, now })).cert;
});

function mwc(service: string, caBundlePem: string) {
  return {
    kind: "MutatingWebhookConfiguration",
    metadata: { name: "m" },
    webhooks: [
      {
        name: "w",
        clientConfig: { service: { name: service, namespace: "sidecar-injector" }, caBundle: Buffer.from(caBundlePem).toString("base64") },
        namespaceSelector: { matchLabels: { "istio-injection": "enabled" } },
        objectSelector: { matchExpressions: [{ key: "app", operator: "NotIn", values: ["sidecar-injector"] }] },
        timeoutSeconds: 10,
      },
    ],
  };
}

const template = testContext().template;
const codes = (objects: Array<Record<string, unknown>>, servedCa?: string) =>
  auditCluster(objects, { template, servedCa }).findings.map((f) => `${f.code}: ${f.message}`);

describe("webhook_config", () => {
  // Thunks: the CAs exist once beforeAll has run.
  it.each<[string, () => Array<Record<string, unknown>>, () => string | undefined, string[]]>([
    ["a bundle holding the served CA (old and new during a rotation)", () => [mwc("sidecar-injector", CA_B + CA_A)], () => CA_A, []],
    ["a bundle without the served CA", () => [mwc("sidecar-injector", CA_B)], () => CA_A, ["webhook_config: Webhook w: its caBundle does not hold the CA"]],
    ["no check without the served CA", () => [mwc("sidecar-injector", CA_B)], () => undefined, []],
    // What an older version published mid-rotation: kube-apiserver reads no certificate from it.
    [
      "a bundle whose blocks are glued together",
      () => [mwc("sidecar-injector", CA_B.trimEnd() + CA_A)],
      () => CA_A,
      ["webhook_config: Webhook w: 2 certificate(s) of its caBundle cannot be read by the API server", "webhook_config: Webhook w: its caBundle does not hold the CA"],
    ],
    ["a glued bundle is reported without the served CA too", () => [mwc("sidecar-injector", CA_B.trimEnd() + CA_A)], () => undefined, ["cannot be read by the API server"]],
    ["no configuration for our service", () => [mwc("someone-else", CA_A)], () => CA_A, ["webhook_config: No MutatingWebhookConfiguration sends pods to service sidecar-injector/sidecar-injector"]],
  ])("%s", (_name, objects, served, expected) => {
    const found = codes(objects(), served());
    expect(found.length).toBe(expected.length);
    expected.forEach((e, i) => expect(found[i]).toContain(e));
  });

  it("accepts matchConditions as the way kube-system and the injector's namespace are kept out", () => {
    const open = mwc("sidecar-injector", CA_A);
    const hook = open.webhooks[0] as Record<string, unknown>;
    hook.namespaceSelector = { matchExpressions: [{ key: "istio-injection", operator: "DoesNotExist" }] };
    expect(codes([open], CA_A)).toEqual([
      expect.stringContaining("neither its namespaceSelector nor its matchConditions exclude namespace kube-system"),
      expect.stringContaining("neither its namespaceSelector nor its matchConditions exclude namespace sidecar-injector"),
    ]);
    hook.matchConditions = [
      { name: "a", expression: "request.namespace != 'kube-system'" },
      { name: "b", expression: 'request.namespace != "sidecar-injector"' },
    ];
    expect(codes([open], CA_A)).toEqual([]);
  });

  it("is not judged when the snapshot has no webhook configurations", () => {
    expect(codes([{ kind: "Namespace", metadata: { name: "a" } }])).toEqual([]);
  });
});

describe("robustness", () => {
  it("skips pods it cannot read instead of failing the audit", () => {
    const report = auditCluster(
      [
        { kind: "Namespace", metadata: { name: "shop", labels: { "istio-injection": "enabled" } } },
        { kind: "Pod", metadata: { name: "odd", namespace: "shop", labels: ["x"] }, spec: { containers: [{ name: "a" }], initContainers: "nope" } },
        { kind: "Pod", metadata: { name: "fine", namespace: "shop" }, spec: { containers: [{ name: "a" }] } },
      ],
      { template },
    );
    expect(report.summary.pods).toBe(1);
    expect(report.findings.map((f) => f.object)).toEqual(["Pod/shop/fine"]);
  });

  it("leaves finished and terminating pods alone", () => {
    const pod = (name: string, extra: Record<string, unknown>) => ({ kind: "Pod", metadata: { name, namespace: "shop", ...extra }, spec: { containers: [{ name: "a" }] } });
    const report = auditCluster(
      [
        { kind: "Namespace", metadata: { name: "shop", labels: { "istio-injection": "enabled" } } },
        { ...pod("done", {}), status: { phase: "Succeeded" } },
        { ...pod("failed", {}), status: { phase: "Failed" } },
        pod("leaving", { deletionTimestamp: "2026-11-25T00:00:00Z" }),
        { ...pod("running", {}), status: { phase: "Running" } },
      ],
      { template },
    );
    expect(report.findings.map((f) => f.object)).toEqual(["Pod/shop/running"]);
  });
});

describe("webhook_conflict", () => {
  const rules = [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }];
  const ours = {
    kind: "MutatingWebhookConfiguration",
    metadata: { name: "sidecar-injector" },
    webhooks: [
      {
        name: "namespace.sidecar-injector.io",
        clientConfig: { service: { name: "sidecar-injector", namespace: "sidecar-injector", path: "/inject" } },
        rules,
        timeoutSeconds: 10,
        namespaceSelector: { matchLabels: { "istio-injection": "enabled" }, matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "sidecar-injector"] }] },
        objectSelector: { matchExpressions: [{ key: "app", operator: "NotIn", values: ["sidecar-injector"] }] },
      },
    ],
  };
  const istiod = (namespaceSelector: Record<string, unknown>) => ({
    kind: "MutatingWebhookConfiguration",
    metadata: { name: "istio-sidecar-injector" },
    webhooks: [{ name: "rev.namespace.sidecar-injector.istio.io", clientConfig: { service: { name: "istiod", namespace: "istio-system", path: "/inject" } }, rules, namespaceSelector }],
  });
  const ns = (labels: Record<string, string>) => ({ kind: "Namespace", metadata: { name: "shop", labels } });
  const deployment = { kind: "Deployment", metadata: { name: "web", namespace: "shop" }, spec: { template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app", image: "app" }] } } } };
  const conflicts = (objects: Array<Record<string, unknown>>) => auditCluster(objects, { template }).findings.filter((f) => f.code === "webhook_conflict");

  it.each([
    ["istiod's revision webhook left in place selects the same namespace", { "istio-injection": "enabled", "istio.io/rev": "stable" }, { matchLabels: { "istio.io/rev": "stable" } }, 1],
    ["istiod's webhook selects another revision only", { "istio-injection": "enabled" }, { matchLabels: { "istio.io/rev": "stable" } }, 0],
  ])("%s", (_name, labels, istiodSelector, expected) => {
    const found = conflicts([ns(labels), deployment, ours, istiod(istiodSelector)]);
    expect(found).toHaveLength(expected);
    if (expected > 0) {
      expect(found[0]).toMatchObject({
        object: "Deployment/shop/web",
        severity: "error",
        message:
          "New pods would be sent to 2 sidecar injectors, in this order: istio-sidecar-injector/rev.namespace.sidecar-injector.istio.io (istiod), sidecar-injector/namespace.sidecar-injector.io (this injector); each adds istio-proxy.",
      });
    }
  });
});
