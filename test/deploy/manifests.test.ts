/**
 * manifests/: rendered (the test renderer; and `kubectl kustomize` where kubectl is installed,
 * which must agree), validated offline against the Kubernetes OpenAPI schemas (npm packages
 * only), and checked for consistency with the code: ports, paths, names, the RBAC against the one
 * table of API calls (everything the code calls is allowed, nothing more), selectors and labels.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { auditCluster } from "../../src/audit/audit.js";
import { DEFAULT_CONFIG } from "../../src/config/config.js";
import { istioClusterSourceOf, loadConfig, parseConfigText } from "../../src/config/load-config.js";
import { Paths } from "../../src/http/app.js";
import { matchesSelector } from "../../src/injection/selector.js";
import { compileTemplate } from "../../src/injection/template.js";
import { API_CALLS, type ApiCall } from "../../src/kube/api-calls.js";
import { validateObject } from "../support/k8s-schema.js";
import { type K8sObject, objectId, podSpecOf, renderKustomization } from "../support/kustomize.js";

const ROOT = join(import.meta.dirname, "..", "..");
const BASE = join(ROOT, "manifests");
const FAIL_OPEN = join(ROOT, "manifests", "overlays", "fail-open");
const HOST_NETWORK = join(ROOT, "manifests", "overlays", "host-network");
const NETWORK_POLICY_COMPONENT = join(ROOT, "manifests", "components", "network-policy");
/** The README's recipe: the base with the NetworkPolicy component and its CIDR set. */
const NETWORK_POLICY = join(ROOT, "test", "deploy", "testdata", "network-policy");
const base = renderKustomization(BASE);
const failOpen = renderKustomization(FAIL_OPEN);
const hostNetwork = renderKustomization(HOST_NETWORK);
const withNetworkPolicy = renderKustomization(NETWORK_POLICY);
/** docs/deploy.md's recipe: the base with the istio-from-cluster component. */
const ISTIO_FROM_CLUSTER = join(ROOT, "test", "deploy", "testdata", "istio-from-cluster");
const withIstioFromCluster = renderKustomization(ISTIO_FROM_CLUSTER);
/** Every way we ship the manifests: the base, each overlay, and the base with the optional component. */
const renderings: Array<[string, string, K8sObject[]]> = [
  ["base", BASE, base],
  ["fail-open", FAIL_OPEN, failOpen],
  ["host-network", HOST_NETWORK, hostNetwork],
  ["network-policy", NETWORK_POLICY, withNetworkPolicy],
  ["istio-from-cluster", ISTIO_FROM_CLUSTER, withIstioFromCluster],
];

type Json = Record<string, any>;
const find = (objects: K8sObject[], kind: string, name?: string): Json => {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind}${name ? ` ${name}` : ""} in the manifests`);
  return o as Json;
};
const deployment = find(base, "Deployment", "sidecar-injector");
const pod = podSpecOf(deployment) as Json;
const container = pod.containers[0] as Json;
const namespace: string = deployment.metadata.namespace;
const configMap = find(base, "ConfigMap");
const mountedConfig = (() => {
  const args: string[] = container.args;
  const path = args[args.indexOf("--config") + 1] as string;
  const mount = (container.volumeMounts as Json[]).find((m) => path.startsWith(`${m.mountPath}/`)) as Json;
  const volume = (pod.volumes as Json[]).find((v) => v.name === mount.name) as Json;
  expect(volume.configMap.name).toBe(configMap.metadata.name);
  const key = path.slice(mount.mountPath.length + 1);
  return loadConfig({
    env: { POD_NAMESPACE: namespace },
    file: { content: parseConfigText(configMap.data[key], `ConfigMap ${configMap.metadata.name} ${key}`), source: "manifests" },
  });
})();
const portNamed = (name: string | number): number =>
  typeof name === "number" ? name : ((container.ports as Json[]).find((p) => p.name === name)?.containerPort as number);
const webhookConfig = find(base, "MutatingWebhookConfiguration");
const podWebhooks = (webhookConfig.webhooks as Json[]).filter((w) => (w.rules as Json[]).some((r) => r.resources.includes("pods")));

function kubectl(): string | null {
  const r = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  return r.status === 0 ? "kubectl" : null;
}
const hasKubectl = kubectl() !== null;
if (!hasKubectl) process.stdout.write("test/deploy/manifests: kubectl is not installed here: the comparison with `kubectl kustomize` is skipped (the test renderer and the schema checks still run).\n");

describe("manifests render", () => {
  (hasKubectl ? it.each : it.skip.each)(renderings)("%s: the test renderer gives what kubectl kustomize gives", (_name, dir, ours) => {
    const r = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    const theirs = parseAllDocuments(r.stdout).map((d) => d.toJSON() as K8sObject);
    const byId = (list: K8sObject[]) => Object.fromEntries(list.map((o) => [objectId(o), o]));
    expect(byId(ours)).toEqual(byId(theirs));
  });

  it("the base holds what a platform engineer needs, and the overlay adds the policy", () => {
    expect(base.map((o) => o.kind).sort()).toEqual(
      [
        ...["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "MutatingWebhookConfiguration", "Namespace", "PodDisruptionBudget", "ResourceQuota", "Role", "RoleBinding", "Service", "ServiceAccount"],
        // The reports role (reports.yaml): its own account, read-only cluster role, Deployment and Service.
        ...["ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ServiceAccount"],
      ].sort(),
    );
    expect(hostNetwork.map(objectId).sort()).toEqual(base.map(objectId).sort());
    expect(withNetworkPolicy.map(objectId).sort()).toEqual([...base.map(objectId), "NetworkPolicy/sidecar-injector/sidecar-injector"].sort());
    expect(failOpen.map(objectId).sort()).toEqual(
      [...base.map(objectId), "ValidatingAdmissionPolicy//sidecar-injector-require-sidecar", "ValidatingAdmissionPolicyBinding//sidecar-injector-require-sidecar"].sort(),
    );
  });
});

describe("manifests validate against the Kubernetes OpenAPI schemas (offline)", () => {
  it.each(renderings.flatMap(([name, , objects]) => objects.map((o) => [`${name}: ${objectId(o)}`, o] as const)))("%s", async (_id, o) => {
    expect(await validateObject(o)).toEqual([]);
  });

  it("the validator does catch mistakes (unknown field, wrong type, missing field)", async () => {
    const broken = structuredClone(deployment) as K8sObject & Json;
    broken.spec.replica = 2;
    broken.spec.template.spec.containers[0].ports[0].containerPort = "8443";
    delete broken.spec.selector;
    const problems = await validateObject(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        "spec.replica: unknown field",
        expect.stringMatching(/containerPort must be integer/),
        expect.stringMatching(/must have required property '?selector'?/),
      ]),
    );
  });
});

describe("manifests agree with the code", () => {
  it("the config in the ConfigMap is valid and self-managed, with probes on its plain port", () => {
    expect(mountedConfig.tls.mode).toBe("self-managed");
    expect(mountedConfig.service.namespace).toBe(namespace);
    expect(mountedConfig.server.metricsPort).not.toBeNull();
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      expect(portNamed(container[probe].httpGet.port)).toBe(mountedConfig.server.metricsPort);
    }
    expect(container.livenessProbe.httpGet.path).toBe(Paths.Healthz);
    expect(container.startupProbe.httpGet.path).toBe(Paths.Healthz);
    expect(container.readinessProbe.httpGet.path).toBe(Paths.Readyz);
  });

  it("Service targetPort = container port = the configured port (10250 in a cluster, the default 8443 elsewhere)", () => {
    const service = find(base, "Service");
    const https = (service.spec.ports as Json[]).find((p) => p.port === webhookConfig.webhooks[0].clientConfig.service.port) as Json;
    expect(portNamed(https.targetPort)).toBe(mountedConfig.server.port);
    // A GKE private cluster's control plane reaches nodes and pods on 443 and 10250 only.
    expect(mountedConfig.server.port).toBe(10250);
    expect(DEFAULT_CONFIG.server.port).toBe(8443);
    const exposed = readFileSync(join(ROOT, "Dockerfile"), "utf8").match(/^EXPOSE (\d+)/m)?.[1];
    expect(Number(exposed)).toBe(DEFAULT_CONFIG.server.port);
  });

  it("every webhook calls the Service on the server's admission path", () => {
    const service = find(base, "Service");
    for (const w of webhookConfig.webhooks as Json[]) {
      expect(w.clientConfig.service).toEqual({ name: service.metadata.name, namespace: service.metadata.namespace, path: Paths.Inject, port: 443 });
      expect(w.clientConfig.caBundle).toBeUndefined();
    }
    expect(service.metadata.name).toBe(mountedConfig.service.name);
  });

  it("Secret, Lease and webhook configuration names are the config's", () => {
    expect(webhookConfig.metadata.name).toBe(mountedConfig.tls.webhookConfigName);
    const role = find(base, "Role");
    expect((role.rules as Json[]).flatMap((r) => r.resourceNames ?? [])).toEqual([mountedConfig.tls.secretName]);
    expect(mountedConfig.tls).toMatchObject({ secretName: "sidecar-injector-certs", leaseName: "sidecar-injector-leader" });
  });

  it("the RBAC allows every API call the code makes with this config, and nothing more", () => {
    const needed = API_CALLS.filter(
      (c) => c.feature === "always" || (c.feature === "self-managed-tls" && mountedConfig.tls.mode === "self-managed") || (c.feature === "audit-endpoint" && mountedConfig.auditEndpoint),
    );
    const grants = (scope: ApiCall["scope"], g: string, res: string, names: string[] | undefined, verbs: string[]) =>
      verbs.flatMap((v) => (names ?? ["*"]).map((n) => `${scope} ${g}/${res} ${v} ${n}`));
    const nameOf = (c: ApiCall) => (c.name === "secret" ? mountedConfig.tls.secretName : c.name === "webhookConfig" ? mountedConfig.tls.webhookConfigName : undefined);
    const expected = new Set(needed.flatMap((c) => grants(c.scope, c.group, c.resource, nameOf(c) === undefined ? undefined : [nameOf(c) as string], [...c.verbs])));
    const fromRules = (scope: ApiCall["scope"], rules: Json[]) =>
      rules.flatMap((r) => (r.apiGroups as string[]).flatMap((g) => (r.resources as string[]).flatMap((res) => grants(scope, g, res, r.resourceNames, r.verbs))));
    const actual = new Set([...fromRules("cluster", find(base, "ClusterRole").rules), ...fromRules("own-namespace", find(base, "Role").rules)]);
    // A grant on any name covers the same grant on one name.
    const covered = (g: string, set: Set<string>) => set.has(g) || set.has(g.replace(/ [^ ]+$/, " *"));
    expect([...expected].filter((g) => !covered(g, actual))).toEqual([]);
    expect([...actual].filter((g) => !covered(g, expected))).toEqual([]);
    expect(JSON.stringify([find(base, "ClusterRole").rules, find(base, "Role").rules])).not.toContain('"*"');
  });

  it("the bindings give the Deployment's ServiceAccount exactly those roles, in its namespace", () => {
    const sa = find(base, "ServiceAccount");
    expect(pod.serviceAccountName).toBe(sa.metadata.name);
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(pod.automountServiceAccountToken).toBe(true);
    for (const [binding, role] of [
      ["ClusterRoleBinding", "ClusterRole"],
      ["RoleBinding", "Role"],
    ] as const) {
      const b = find(base, binding);
      expect(b.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: role, name: find(base, role).metadata.name });
      expect(b.subjects).toEqual([{ kind: "ServiceAccount", name: sa.metadata.name, namespace }]);
    }
    expect(find(base, "Role").metadata.namespace).toBe(namespace);
  });

  it("selectors and labels agree: Deployment, Service and PDB select the pods; the webhooks never do", () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(matchesSelector(deployment.spec.selector, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: find(base, "Service").spec.selector }, labels)).toBe(true);
    expect(matchesSelector(find(base, "PodDisruptionBudget").spec.selector, labels)).toBe(true);
    for (const w of webhookConfig.webhooks as Json[]) expect({ webhook: w.name, selectsInjector: matchesSelector(w.objectSelector, labels) }).toEqual({ webhook: w.name, selectsInjector: false });
    const nsLabels = { ...find(base, "Namespace").metadata.labels, "kubernetes.io/metadata.name": namespace };
    for (const w of webhookConfig.webhooks as Json[]) expect({ webhook: w.name, selectsOwnNamespace: matchesSelector(w.namespaceSelector, nsLabels) }).toEqual({ webhook: w.name, selectsOwnNamespace: false });
  });

  it("the pod webhooks are safe: None side effects, v1 and v1beta1, ≤ 10 s, IfNeeded, Equivalent, Fail; matchConditions keep system, own, hostNetwork and injected pods out", () => {
    expect(podWebhooks.map((w) => w.name)).toEqual(["namespace.sidecar-injector.io", "object.sidecar-injector.io"]);
    for (const w of podWebhooks) {
      expect(w).toMatchObject({ sideEffects: "None", admissionReviewVersions: ["v1", "v1beta1"], reinvocationPolicy: "IfNeeded", matchPolicy: "Equivalent", failurePolicy: "Fail" });
      expect(w.timeoutSeconds).toBeLessThanOrEqual(10);
      const expressions = (w.matchConditions as Json[]).map((c) => c.expression).join("\n");
      expect(expressions).toContain("request.namespace != 'kube-system'");
      expect(expressions).toContain(`request.namespace != '${namespace}'`);
      expect(expressions).toContain("object.spec.hostNetwork");
      expect(expressions).toContain("'sidecar.istio.io/status' in object.metadata.annotations");
    }
    const [byNamespace, byObject] = podWebhooks as [Json, Json];
    expect(matchesSelector(byNamespace.namespaceSelector, { "istio-injection": "enabled" })).toBe(true);
    expect(matchesSelector(byNamespace.objectSelector, { "sidecar.istio.io/inject": "false" })).toBe(false);
    expect(matchesSelector(byObject.namespaceSelector, {})).toBe(true);
    expect(matchesSelector(byObject.namespaceSelector, { "istio-injection": "enabled" })).toBe(false);
    expect(matchesSelector(byObject.objectSelector, { "sidecar.istio.io/inject": "true" })).toBe(true);
    expect(matchesSelector(byObject.objectSelector, {})).toBe(false);
  });

  it("the injector's own audit finds nothing wrong with this webhook configuration", () => {
    const template = compileTemplate(mountedConfig);
    const report = auditCluster(base as Json[], { template, webhookConfigsListed: true });
    expect(report.findings.filter((f) => f.code === "webhook_config")).toEqual([]);
  });

  it("the Deployment is hardened and highly available", () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(find(base, "PodDisruptionBudget").spec.minAvailable).toBe(1);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits).toBeDefined();
    expect(pod.topologySpreadConstraints?.length ?? 0).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(mountedConfig.server.shutdownDeadlineMs + mountedConfig.server.shutdownDrainDelayMs);
    expect(container.env.map((e: Json) => [e.name, e.valueFrom.fieldRef.fieldPath])).toEqual([
      ["POD_NAME", "metadata.name"],
      ["POD_NAMESPACE", "metadata.namespace"],
    ]);
    expect(container.image).toBe("sidecar-injector:0.1.0");
  });
});

describe("fail-open overlay", () => {
  const mwc = find(failOpen, "MutatingWebhookConfiguration");
  const policy = find(failOpen, "ValidatingAdmissionPolicy");
  const binding = find(failOpen, "ValidatingAdmissionPolicyBinding");

  it("every webhook fails open", () => {
    expect((mwc.webhooks as Json[]).map((w) => w.failurePolicy)).toEqual(["Ignore", "Ignore", "Ignore"]);
  });

  it("the policy rejects pods without the sidecar where the namespace webhook injects, and is bound to deny", () => {
    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ["Deny"] });
    expect(policy.spec.failurePolicy).toBe("Fail");
    expect(matchesSelector(policy.spec.matchConstraints.namespaceSelector, { "istio-injection": "enabled" })).toBe(true);
    expect(matchesSelector(policy.spec.matchConstraints.objectSelector, { "sidecar.istio.io/inject": "false" })).toBe(false);
    expect(policy.spec.validations[0].expression).toContain("'sidecar.istio.io/status' in object.metadata.annotations");
  });
});

describe("network-policy component (optional)", () => {
  const policy = find(withNetworkPolicy, "NetworkPolicy");
  const policyContainer = (podSpecOf(find(withNetworkPolicy, "Deployment")) as Json).containers[0] as Json;
  /** A NetworkPolicy port names the pod's container port (or is a number). */
  const portNumber = (name: string | number): number =>
    typeof name === "number" ? name : ((policyContainer.ports as Json[]).find((p) => p.name === name)?.containerPort as number);
  const rules = policy.spec.ingress as Json[];
  const portsOf = (rule: Json) => (rule.ports as Json[]).map((p) => portNumber(p.port));

  it("selects the injector's pods, and only them; limits ingress only (the injector still reaches the API server)", () => {
    expect(policy.metadata.namespace).toBe(namespace);
    expect(matchesSelector(policy.spec.podSelector, deployment.spec.template.metadata.labels)).toBe(true);
    expect(matchesSelector(policy.spec.podSelector, {})).toBe(false);
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
  });

  it("admits the webhook port only from the control plane's range, and the probe/metrics port from anywhere", () => {
    const webhook = rules.filter((r) => portsOf(r).includes(mountedConfig.server.port));
    expect(webhook).toHaveLength(1);
    expect(portsOf(webhook[0] as Json)).toEqual([mountedConfig.server.port]);
    expect(webhook[0]?.from).toEqual([{ ipBlock: { cidr: "172.16.0.0/28" } }]);
    const probes = rules.filter((r) => portsOf(r).includes(mountedConfig.server.metricsPort as number));
    expect(probes).toEqual([{ ports: [{ port: "http-probes", protocol: "TCP" }] }]);
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) expect(portNumber(container[probe].httpGet.port)).toBe(mountedConfig.server.metricsPort);
    // No other port is opened, and every port the Service sends to is covered.
    expect(rules.flatMap(portsOf).sort()).toEqual([mountedConfig.server.port, mountedConfig.server.metricsPort].sort());
    const service = find(withNetworkPolicy, "Service");
    expect((service.spec.ports as Json[]).map((p) => portNumber(p.targetPort)).sort()).toEqual(rules.flatMap(portsOf).sort());
  });

  it("unset, its CIDR is not one, so the API server refuses the policy instead of cutting itself off", () => {
    const component = parseYaml(readFileSync(join(NETWORK_POLICY_COMPONENT, "network-policy.yaml"), "utf8")) as Json;
    const unset = component.spec.ingress[0].from[0].ipBlock.cidr as string;
    const isCidr = (text: string) => {
      const [ip, bits, extra] = text.split("/");
      return extra === undefined && /^\d+$/.test(bits ?? "") && ((isIPv4(ip ?? "") && Number(bits) <= 32) || (isIPv6(ip ?? "") && Number(bits) <= 128));
    };
    expect(isCidr(unset)).toBe(false);
    expect(isCidr(rules[0]?.from[0].ipBlock.cidr)).toBe(true);
  });

  it("docs/access.md shows the recipe this test renders", () => {
    const readme = readFileSync(join(ROOT, "docs", "access.md"), "utf8");
    const block = /```yaml\n(resources: \[path\/to\/manifests\][\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const shown = parseYaml(block ?? "") as Json;
    const tested = parseYaml(readFileSync(join(NETWORK_POLICY, "kustomization.yaml"), "utf8")) as Json;
    expect(shown.patches.map((p: Json) => ({ target: p.target, ops: parseYaml(p.patch) }))).toEqual(tested.patches.map((p: Json) => ({ target: p.target, ops: parseYaml(p.patch) })));
    expect(shown.components).toEqual(["path/to/manifests/components/network-policy"]);
  });
});

describe("istio-from-cluster component (optional)", () => {
  const role = find(withIstioFromCluster, "Role", "sidecar-injector-istio-config");
  const binding = find(withIstioFromCluster, "RoleBinding", "sidecar-injector-istio-config");

  it("grants exactly the istio-from-cluster calls, on Istio's two ConfigMaps by name, in istio-system only", () => {
    const source = istioClusterSourceOf({ istio: { fromCluster: {} } }, "config.yaml");
    expect(role.metadata.namespace).toBe(source?.namespace);
    const needed = API_CALLS.filter((c) => c.feature === "istio-from-cluster");
    expect(needed.every((c) => c.scope === "istio-namespace" && c.name === "istioConfigMaps")).toBe(true);
    const grants = (rules: Json[]) => rules.flatMap((r) => (r.apiGroups as string[]).flatMap((g) => (r.resources as string[]).flatMap((res) => (r.verbs as string[]).flatMap((v) => (r.resourceNames as string[]).map((n) => `${g}/${res} ${v} ${n}`))))).sort();
    expect(grants(role.rules)).toEqual(needed.flatMap((c) => c.verbs.flatMap((v) => [source?.injectorConfigMap, source?.meshConfigMap].map((n) => `${c.group}/${c.resource} ${v} ${n}`))).sort());
    // Nothing cluster-wide: no ClusterRole of the component, none of the base reads ConfigMaps.
    expect(withIstioFromCluster.filter((o) => o.kind === "ClusterRole").length).toBe(base.filter((o) => o.kind === "ClusterRole").length);
    expect(JSON.stringify(withIstioFromCluster.filter((o) => o.kind === "ClusterRole"))).not.toContain("configmaps");
  });

  it("binds both roles that render pods: the webhook's and the reports' ServiceAccounts", () => {
    expect(binding.metadata.namespace).toBe(role.metadata.namespace);
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name });
    const accounts = base.filter((o) => o.kind === "ServiceAccount").map((o) => ({ kind: "ServiceAccount", name: o.metadata.name, namespace: o.metadata.namespace }));
    expect([...binding.subjects].sort((a: Json, b: Json) => a.name.localeCompare(b.name))).toEqual(accounts.sort((a, b) => a.name.localeCompare(b.name)));
  });

  it("docs/deploy.md shows the recipe this test renders", () => {
    const page = readFileSync(join(ROOT, "docs", "deploy.md"), "utf8");
    const block = /```yaml\n(resources: \[path\/to\/manifests\]\ncomponents: \[path\/to\/manifests\/components\/istio-from-cluster\][\s\S]*?)```/.exec(page)?.[1];
    expect(block).toBeDefined();
    const tested = parseYaml(readFileSync(join(ISTIO_FROM_CLUSTER, "kustomization.yaml"), "utf8")) as Json;
    expect((parseYaml(block ?? "") as Json).components.map((c: string) => c.replace("path/to/", ""))).toEqual(tested.components.map((c: string) => c.replace(/^(\.\.\/)+/, "")));
  });
});

describe("CEL expressions behave (evaluated with a CEL interpreter, as the API server would)", () => {
  const toCel = (v: unknown): unknown =>
    v === null || typeof v !== "object" ? v : Array.isArray(v) ? v.map(toCel) : new Map(Object.entries(v as Json).map(([k, x]) => [k, toCel(x)]));
  const passes = async (conditions: Json[], object: Json, ns: string) => {
    const { run } = await import("@bufbuild/cel");
    return conditions.every((c) => run(c.expression, { object: toCel(object) as never, request: toCel({ namespace: ns, operation: "CREATE" }) as never }) === true);
  };
  const podWith = (meta: Json = {}, spec: Json = {}) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", ...meta }, spec: { containers: [{ name: "app", image: "app" }], ...spec } });
  const cases: Array<[string, boolean, Json, string]> = [
    ["a plain pod (no annotations at all)", true, podWith(), "shop"],
    ["a pod with unrelated annotations", true, podWith({ annotations: { team: "a" } }), "shop"],
    ["a pod in kube-system", false, podWith(), "kube-system"],
    ["a pod in the injector's namespace", false, podWith(), "sidecar-injector"],
    ["a hostNetwork pod", false, podWith({}, { hostNetwork: true }), "shop"],
    ["hostNetwork: false", true, podWith({}, { hostNetwork: false }), "shop"],
    ["a mirror pod", false, podWith({ annotations: { "kubernetes.io/config.mirror": "x" } }), "shop"],
    ["an injected pod (reinvoked)", false, podWith({ annotations: { "sidecar.istio.io/status": "{}" } }), "shop"],
  ];
  it.each(renderings.flatMap(([name, , objects]) => cases.map(([what, expected, object, ns]) => [name, what, expected, object, ns, objects] as const)))(
    "%s, pod webhooks: %s → sent to the injector: %s",
    async (_rendering, _name, expected, object, ns, objects) => {
      const hooks = (find(objects, "MutatingWebhookConfiguration").webhooks as Json[]).filter((w) => (w.rules as Json[]).some((r) => r.resources.includes("pods")));
      expect(hooks).toHaveLength(2);
      for (const w of hooks) expect(await passes(w.matchConditions, object, ns)).toBe(expected);
    },
  );

  const policy = find(failOpen, "ValidatingAdmissionPolicy");
  it.each<[string, boolean | "not checked", Json]>([
    ["a pod without the sidecar", false, podWith()],
    ["an injected pod", true, podWith({ annotations: { "sidecar.istio.io/status": "{}" } })],
    ["a pod opted out by annotation", "not checked", podWith({ annotations: { "sidecar.istio.io/inject": "false" } })],
    ["a hostNetwork pod", "not checked", podWith({}, { hostNetwork: true })],
  ])("fail-open policy: %s → admitted: %s", async (_name, expected, object) => {
    const checked = await passes(policy.spec.matchConditions, object, "shop");
    if (expected === "not checked") return void expect(checked).toBe(false);
    expect(checked).toBe(true);
    expect(await passes(policy.spec.validations, object, "shop")).toBe(expected);
  });
});

describe("installs on the clusters people run (every rendering)", () => {
  const parts = (objects: K8sObject[]) => {
    const d = find(objects, "Deployment");
    const spec = podSpecOf(d) as Json;
    const c = spec.containers[0] as Json;
    const cm = find(objects, "ConfigMap");
    const env = Object.fromEntries(((c.env as Json[]) ?? []).filter((e) => typeof e.value === "string").map((e) => [e.name, e.value]));
    const config = loadConfig({ env: { ...env, POD_NAMESPACE: d.metadata.namespace }, file: { content: parseConfigText(cm.data["config.yaml"], "config.yaml"), source: "manifests" } });
    const port = (name: string | number): number => (typeof name === "number" ? name : ((c.ports as Json[]).find((p) => p.name === name)?.containerPort as number));
    return { d, spec, c, config, port };
  };
  /** A rolling update's surge as a number of pods (kubernetes rounds a percentage up). */
  const surgeOf = (d: Json): number => {
    const s = d.spec.strategy?.rollingUpdate?.maxSurge ?? "25%";
    return typeof s === "number" ? s : Math.ceil((Number.parseInt(s, 10) / 100) * d.spec.replicas);
  };

  it.each(renderings)("%s: a quota scoped to the Deployment's priority class makes room for its replicas and a rollout's surge (GKE)", (_name, _dir, objects) => {
    const { d, spec } = parts(objects);
    const quotas = objects.filter((o) => o.kind === "ResourceQuota") as Json[];
    const scoped = quotas.filter(
      (q) =>
        q.metadata.namespace === d.metadata.namespace &&
        (q.spec.scopeSelector?.matchExpressions as Json[] | undefined)?.some(
          (e) => e.scopeName === "PriorityClass" && e.operator === "In" && (e.values as string[]).includes(spec.priorityClassName),
        ),
    );
    expect(scoped).toHaveLength(1);
    expect(Number(scoped[0]?.spec.hard.pods)).toBeGreaterThanOrEqual(d.spec.replicas + surgeOf(d));
    // Nothing else is limited: the quota exists to admit the priority class, not to cap resources.
    expect(Object.keys(scoped[0]?.spec.hard)).toEqual(["pods"]);
  });

  it.each(renderings)("%s: no fixed UID or GID (OpenShift restricted-v2), and what Pod Security restricted asks", (_name, _dir, objects) => {
    const { spec, c } = parts(objects);
    for (const sc of [spec.securityContext ?? {}, c.securityContext ?? {}]) {
      for (const pinned of ["runAsUser", "runAsGroup", "fsGroup", "supplementalGroups"]) expect({ pinned, value: sc[pinned] }).toEqual({ pinned, value: undefined });
    }
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(c.securityContext.privileged).toBeUndefined();
    for (const p of c.ports as Json[]) expect(p.hostPort).toBeUndefined();
  });

  it.each(renderings)("%s: the server listens where the Service, the probes and the webhooks expect it", (_name, _dir, objects) => {
    const { c, config, port } = parts(objects);
    expect(port("https")).toBe(config.server.port);
    expect(port("http-probes")).toBe(config.server.metricsPort);
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) expect(port(c[probe].httpGet.port)).toBe(config.server.metricsPort);
    const service = find(objects, "Service");
    const byPort = new Map((service.spec.ports as Json[]).map((p) => [p.port, port(p.targetPort)]));
    for (const w of find(objects, "MutatingWebhookConfiguration").webhooks as Json[]) expect(byPort.get(w.clientConfig.service.port)).toBe(config.server.port);
    expect([...byPort.values()].sort()).toEqual([config.server.port, config.server.metricsPort].sort());
  });

  describe("host-network overlay (EKS and others with an overlay CNI)", () => {
    const { d, spec, config } = parts(hostNetwork);
    const ns = find(hostNetwork, "Namespace");
    // Ports that node components commonly hold: kubelet, kube-proxy, control plane, etcd,
    // node-exporter, Calico, Cilium, Istio's CNI node agent, and the base's own ports.
    const HOST_PORTS = [22, 53, 80, 179, 443, 2379, 2380, 4240, 4244, 6443, 8080, 8443, 9090, 9091, 9099, 9100, 9443, 9879, 9890, 9962, 9963, 9964, 10248, 10249, 10250, 10255, 10256, 10257, 10259, 15000, 15001, 15006, 15008, 15020, 15021, 15090];

    it("runs in the node's network and still resolves cluster names", () => {
      expect(spec.hostNetwork).toBe(true);
      expect(spec.dnsPolicy).toBe("ClusterFirstWithHostNet");
    });

    it("listens on ports no node component or NodePort holds", () => {
      for (const p of [config.server.port, config.server.metricsPort as number]) {
        expect({ port: p, taken: HOST_PORTS.includes(p), nodePortRange: p >= 30000 && p <= 32767, privileged: p < 1024 }).toEqual({ port: p, taken: false, nodePortRange: false, privileged: false });
      }
      expect(config.server.port).not.toBe(config.server.metricsPort);
    });

    it("never puts two replicas on one node, and rolls without a surge pod that could not be placed", () => {
      const anti = spec.affinity.podAntiAffinity;
      expect(anti.preferredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
      const [term] = anti.requiredDuringSchedulingIgnoredDuringExecution as Json[];
      expect(term?.topologyKey).toBe("kubernetes.io/hostname");
      expect(matchesSelector(term?.labelSelector, d.spec.template.metadata.labels)).toBe(true);
      expect(surgeOf(d)).toBe(0);
      expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(1);
      expect(find(hostNetwork, "PodDisruptionBudget").spec.minAvailable).toBeLessThan(d.spec.replicas);
    });

    it("its namespace admits host networking (Pod Security privileged); the base's stays restricted", () => {
      expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
      expect(find(base, "Namespace").metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    });
  });
});

describe("the reports role (reports.yaml): apart from admission, read-only, with its own account", () => {
  const reports = find(base, "Deployment", "sidecar-injector-reports");
  const reportsPod = podSpecOf(reports) as Json;
  const reportsContainer = reportsPod.containers[0] as Json;
  const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
  const roleOf = (d: Json) => {
    const c = (podSpecOf(d) as Json).containers[0] as Json;
    return loadConfig({ env: { POD_NAMESPACE: namespace }, flags: { role: argAfter(c.args, "--role") }, file: { content: parseConfigText(configMap.data["config.yaml"], "manifests"), source: "manifests" } }).server.role;
  };
  const grantsOf = (roleName: string) =>
    (find(base, "ClusterRole", roleName).rules as Json[]).flatMap((r) => (r.apiGroups as string[]).flatMap((g) => (r.resources as string[]).flatMap((res) => (r.verbs as string[]).map((v) => `${g}/${res} ${v}${r.resourceNames ? ` ${r.resourceNames.join(",")}` : ""}`))));

  it("the webhook's Deployment is role webhook, the reports Deployment role reports, with the same ConfigMap", () => {
    expect(roleOf(deployment)).toBe("webhook");
    expect(roleOf(reports)).toBe("reports");
    expect(mountedConfig.auditEndpoint).toBe(false);
    const volume = (reportsPod.volumes as Json[]).find((v) => v.configMap) as Json;
    expect(volume.configMap.name).toBe(configMap.metadata.name);
  });

  it("its ClusterRole is exactly the audit's calls (and namespaces); the webhook's holds none of them", () => {
    const needed = API_CALLS.filter((c) => c.feature === "audit-endpoint" || (c.feature === "always" && c.resource === "namespaces")).flatMap((c) => c.verbs.map((v) => `${c.group}/${c.resource} ${v}`));
    expect(grantsOf("sidecar-injector-reports").sort()).toEqual([...new Set(needed)].sort());
    // Read-only on the cluster's objects; create only on the two reviews that check a caller's rights.
    expect(grantsOf("sidecar-injector-reports").filter((g) => !/ (list|watch)$/.test(g)).sort()).toEqual(["authentication.k8s.io/tokenreviews create", "authorization.k8s.io/subjectaccessreviews create"]);
    const webhookGrants = grantsOf("sidecar-injector");
    for (const kind of ["/pods ", "/replicasets ", "/deployments ", "/jobs "]) expect(webhookGrants.filter((g) => g.includes(kind))).toEqual([]);
    const binding = find(base, "ClusterRoleBinding", "sidecar-injector-reports");
    expect(binding.roleRef.name).toBe("sidecar-injector-reports");
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: reportsPod.serviceAccountName, namespace }]);
    expect(find(base, "ServiceAccount", reportsPod.serviceAccountName).automountServiceAccountToken).toBe(false);
  });

  it("Services select their own pods only; the PodDisruptionBudget and the webhooks leave the reports pods alone", () => {
    const labels = reports.spec.template.metadata.labels;
    const webhookLabels = deployment.spec.template.metadata.labels;
    expect(matchesSelector({ matchLabels: find(base, "Service", "sidecar-injector-reports").spec.selector }, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: find(base, "Service", "sidecar-injector-reports").spec.selector }, webhookLabels)).toBe(false);
    expect(matchesSelector({ matchLabels: find(base, "Service", "sidecar-injector").spec.selector }, labels)).toBe(false);
    expect(matchesSelector(find(base, "PodDisruptionBudget").spec.selector, labels)).toBe(false);
    // No webhook is called for them: they run in the injector's namespace, which every webhook leaves out.
    const nsLabels = { ...find(base, "Namespace").metadata.labels, "kubernetes.io/metadata.name": reports.metadata.namespace };
    for (const w of webhookConfig.webhooks as Json[]) {
      expect({ webhook: w.name, called: matchesSelector(w.objectSelector, labels) && matchesSelector(w.namespaceSelector, nsLabels) }).toEqual({ webhook: w.name, called: false });
    }
  });

  it("serves its own certificate from a writable emptyDir, on its own ports, with probes on the plain port", () => {
    const args: string[] = reportsContainer.args;
    const certDir = argAfter(args, "--cert-dir");
    const mount = (reportsContainer.volumeMounts as Json[]).find((m) => m.mountPath === certDir) as Json;
    expect(mount.readOnly).toBeUndefined();
    expect((reportsPod.volumes as Json[]).find((v) => v.name === mount.name)?.emptyDir).toBeDefined();
    expect(reportsContainer.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false });
    const port = (name: string) => (reportsContainer.ports as Json[]).find((p) => p.name === name)?.containerPort;
    expect(port("https")).toBe(Number(argAfter(args, "--port")));
    expect(port("http-probes")).toBe(Number((reportsContainer.env as Json[]).find((e) => e.name === "METRICS_PORT")?.value));
    expect(reportsContainer.readinessProbe.httpGet).toEqual({ path: Paths.Readyz, port: "http-probes" });
    expect(reportsContainer.resources.limits.memory).toBeDefined();
  });

  it("the host-network overlay leaves the reports Deployment off the host network", () => {
    const moved = find(hostNetwork, "Deployment", "sidecar-injector-reports");
    expect((podSpecOf(moved) as Json).hostNetwork).toBeUndefined();
  });
});
