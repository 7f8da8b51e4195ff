import { describe, expect, it } from "@jest/globals";
import { aPod, testContext } from "../../test/support/builders.js";
import { checkApplicability, decide } from "./decision.js";
import type { Pod } from "./pod.js";

const policy = testContext().template.policy;
const strictPolicy = testContext({
  policy: "disabled",
  neverInjectSelector: [{ matchLabels: { app: "batch" } }],
  alwaysInjectSelector: [{ matchExpressions: [{ key: "tier", operator: "In", values: ["web"] }] }],
}).template.policy;
const STATUS = JSON.stringify({
  initContainers: ["istio-init"],
  containers: ["istio-proxy"],
  volumes: ["istio-envoy"],
  imagePullSecrets: null,
  revision: "default",
});
const proxy = { name: "istio-proxy", image: "proxy" };
const init = { name: "istio-init", image: "proxy" };

describe("checkApplicability", () => {
  const pod = { group: "", version: "v1", kind: "Pod" };
  it.each([
    ["a Pod CREATE", { operation: "CREATE", kind: pod }, null],
    ["a Deployment", { operation: "CREATE", kind: { group: "apps", version: "v1", kind: "Deployment" } }, "not_a_pod"],
    ["a Pod-named CRD", { operation: "CREATE", kind: { group: "example.com", version: "v1", kind: "Pod" } }, "not_a_pod"],
    ["an UPDATE", { operation: "UPDATE", kind: pod }, "operation_not_create"],
    ["a DELETE", { operation: "DELETE", kind: pod }, "operation_not_create"],
    ["a subresource", { operation: "CREATE", kind: pod, subResource: "binding" }, "subresource_request"],
  ] as const)("%s", (_name, req, code) => {
    expect(checkApplicability(req)?.code ?? null).toBe(code);
  });
});

interface Case {
  name: string;
  pod: Pod;
  namespace?: string;
  strict?: boolean;
  verdict: string;
  codes: string[];
  decidedBy?: string;
}

const cases: Case[] = [
  { name: "default: namespace enabled", pod: aPod(), verdict: "inject", codes: ["namespace_enabled"], decidedBy: "namespace" },
  { name: "ignored namespace", pod: aPod(), namespace: "kube-system", verdict: "skip", codes: ["namespace_ignored"], decidedBy: "namespace" },
  { name: "injector's own namespace", pod: aPod(), namespace: "sidecar-injector", verdict: "skip", codes: ["namespace_ignored"] },
  { name: "hostNetwork", pod: aPod({ spec: { hostNetwork: true } }), verdict: "skip", codes: ["host_network"], decidedBy: "pod" },
  { name: "hostNetwork false", pod: aPod({ spec: { hostNetwork: false } }), verdict: "inject", codes: ["namespace_enabled"] },
  { name: "mirror pod", pod: aPod({ annotations: { "kubernetes.io/config.mirror": "abc" } }), verdict: "skip", codes: ["mirror_pod"] },
  { name: "label false", pod: aPod({ labels: { "sidecar.istio.io/inject": "false" } }), verdict: "skip", codes: ["pod_label_disabled"], decidedBy: "pod" },
  { name: "label true", pod: aPod({ labels: { "sidecar.istio.io/inject": "true" } }), verdict: "inject", codes: ["pod_label_enabled"], decidedBy: "pod" },
  { name: "label TRUE (case-insensitive)", pod: aPod({ labels: { "sidecar.istio.io/inject": "TRUE" } }), verdict: "inject", codes: ["pod_label_enabled"] },
  { name: "annotation false", pod: aPod({ annotations: { "sidecar.istio.io/inject": "false" } }), verdict: "skip", codes: ["pod_annotation_disabled"] },
  { name: "annotation true", pod: aPod({ annotations: { "sidecar.istio.io/inject": "true" } }), verdict: "inject", codes: ["pod_annotation_enabled"] },
  {
    name: "label beats annotation",
    pod: aPod({ labels: { "sidecar.istio.io/inject": "true" }, annotations: { "sidecar.istio.io/inject": "false" } }),
    verdict: "inject",
    codes: ["annotation_overridden_by_label", "pod_label_enabled"],
  },
  {
    name: "label false beats annotation true",
    pod: aPod({ labels: { "sidecar.istio.io/inject": "false" }, annotations: { "sidecar.istio.io/inject": "true" } }),
    verdict: "skip",
    codes: ["annotation_overridden_by_label", "pod_label_disabled"],
  },
  {
    name: "invalid label value → warning and default",
    pod: aPod({ labels: { "sidecar.istio.io/inject": "yes-please" } }),
    verdict: "inject",
    codes: ["invalid_inject_value", "namespace_enabled"],
  },
  {
    name: "invalid annotation value → warning and default",
    pod: aPod({ annotations: { "sidecar.istio.io/inject": "enabled" } }),
    verdict: "inject",
    codes: ["invalid_inject_value", "namespace_enabled"],
  },
  {
    name: "already injected",
    pod: aPod({ annotations: { "sidecar.istio.io/status": STATUS }, spec: { initContainers: [init], containers: [{ name: "web" }, proxy] } }),
    verdict: "already_injected",
    codes: ["already_injected"],
  },
  {
    name: "status present but containers missing → re-inject",
    pod: aPod({ annotations: { "sidecar.istio.io/status": STATUS } }),
    verdict: "inject",
    codes: ["reinject_partial", "namespace_enabled"],
  },
  {
    name: "unreadable status + an istio-proxy container → treated as the user's override",
    pod: aPod({ annotations: { "sidecar.istio.io/status": "{not json" }, spec: { containers: [{ name: "web" }, proxy] } }),
    verdict: "inject",
    codes: ["status_annotation_unreadable", "user_proxy_overrides", "namespace_enabled"],
  },
  {
    name: "container named istio-proxy without status → the user's override",
    pod: aPod({ spec: { containers: [{ name: "web" }, proxy] } }),
    verdict: "inject",
    codes: ["user_proxy_overrides", "namespace_enabled"],
  },
  {
    name: "init container named istio-proxy without status → conflict",
    pod: aPod({ spec: { initContainers: [proxy] } }),
    verdict: "skip",
    codes: ["container_name_conflict"],
  },
  {
    name: "init container named istio-init without status: the user's own, merged over ours",
    pod: aPod({ spec: { initContainers: [init] } }),
    verdict: "inject",
    codes: ["user_proxy_overrides", "namespace_enabled"],
  },
  {
    name: "app container named istio-init",
    pod: aPod({ spec: { containers: [{ name: "app", image: "app" }, { ...init }] } }),
    verdict: "skip",
    codes: ["container_name_conflict"],
  },
  {
    name: "init container named istio-init and app container named istio-proxy: both the user's own",
    pod: aPod({ spec: { initContainers: [init], containers: [{ name: "app", image: "app" }, { name: "istio-proxy", image: "auto" }] } }),
    verdict: "inject",
    codes: ["user_proxy_overrides", "namespace_enabled"],
  },
  {
    name: "volume named istio-envoy without status",
    pod: aPod({ spec: { volumes: [{ name: "istio-envoy", emptyDir: {} }] } }),
    verdict: "skip",
    codes: ["volume_name_conflict"],
  },
  {
    name: "every skip reason at once",
    pod: aPod({
      labels: { "sidecar.istio.io/inject": "false" },
      annotations: { "kubernetes.io/config.mirror": "x" },
      spec: { hostNetwork: true, volumes: [{ name: "istio-data" }] },
    }),
    namespace: "kube-system",
    verdict: "skip",
    codes: ["namespace_ignored", "host_network", "mirror_pod", "pod_label_disabled", "volume_name_conflict"],
    decidedBy: "namespace",
  },
  { name: "revision label for this revision", pod: aPod({ labels: { "istio.io/rev": "default" } }), verdict: "inject", codes: ["namespace_enabled"] },
  { name: "revision label for another revision", pod: aPod({ labels: { "istio.io/rev": "canary" } }), verdict: "skip", codes: ["revision_mismatch"], decidedBy: "pod" },
  {
    name: "another mesh's proxy",
    pod: aPod({ spec: { containers: [{ name: "web" }, { name: "linkerd-proxy" }] } }),
    verdict: "skip",
    codes: ["sidecar_already_exists"],
  },
  {
    name: "envoy beside an iptables init container",
    pod: aPod({ spec: { containers: [{ name: "envoy" }], initContainers: [{ name: "init", securityContext: { capabilities: { add: ["NET_ADMIN"] } } }] } }),
    verdict: "skip",
    codes: ["sidecar_already_exists"],
  },
  { name: "an app container named envoy", pod: aPod({ spec: { containers: [{ name: "envoy" }] } }), verdict: "inject", codes: ["namespace_enabled"] },
  { name: "policy disabled", pod: aPod(), strict: true, verdict: "skip", codes: ["policy_disabled"], decidedBy: "policy" },
  { name: "policy disabled, pod opts in", pod: aPod({ labels: { "sidecar.istio.io/inject": "true" } }), strict: true, verdict: "inject", codes: ["pod_label_enabled"], decidedBy: "pod" },
  { name: "never selector", pod: aPod({ labels: { app: "batch" } }), strict: true, verdict: "skip", codes: ["never_inject_selector"], decidedBy: "policy" },
  {
    name: "never selector, pod opts in",
    pod: aPod({ labels: { app: "batch", "sidecar.istio.io/inject": "true" } }),
    strict: true,
    verdict: "inject",
    codes: ["pod_label_enabled"],
  },
  { name: "always selector under policy disabled", pod: aPod({ labels: { tier: "web" } }), strict: true, verdict: "inject", codes: ["always_inject_selector"], decidedBy: "policy" },
  {
    name: "never beats always",
    pod: aPod({ labels: { app: "batch", tier: "web" } }),
    strict: true,
    verdict: "skip",
    codes: ["never_inject_selector"],
  },
  {
    name: "__proto__ keys are plain data",
    pod: aPod({ labels: JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string> }),
    verdict: "inject",
    codes: ["namespace_enabled"],
  },
];

describe("decide", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const d = decide(c.pod, c.namespace ?? "default", c.strict ? strictPolicy : policy);
    expect(d.verdict).toBe(c.verdict);
    expect(d.reasons.map((r) => r.code)).toEqual(c.codes);
    if (c.decidedBy) expect(d.decidedBy).toBe(c.decidedBy);
    for (const r of d.reasons) expect(r.message).toMatch(/\.$/);
  });
});
