import { describe, expect, it } from "@jest/globals";
import { type PodRequest, type WebhookMatch, matchWebhooks } from "./match.js";

type Json = Record<string, unknown>;

const podRules = [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }];
const hook = (name: string, extra: Json = {}): Json => ({
  name,
  clientConfig: { service: { namespace: "sidecar-injector", name: "sidecar-injector", path: "/inject", port: 443 } },
  rules: podRules,
  failurePolicy: "Fail",
  ...extra,
});
const config = (name: string, ...webhooks: Json[]): Json => ({ apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name }, webhooks });
const pod = (meta: Json = {}, spec: Json = {}): Json => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "web-1", labels: { app: "web" }, ...meta }, spec: { containers: [{ name: "app", image: "app" }], ...spec } });
const request = (object: Json = pod(), labels: Record<string, string> = { "istio-injection": "enabled" }, name = "shop"): PodRequest => ({ object, namespace: { name, labels } });
const one = (w: Json, req: PodRequest = request()): WebhookMatch => matchWebhooks([config("c", w)], req)[0] as WebhookMatch;

describe("matchWebhooks: why each webhook is or is not called", () => {
  it.each<[string, Json, PodRequest, Partial<WebhookMatch>]>([
    ["a webhook for pods with no selectors is called", hook("all"), request(), { called: true, code: "called", message: "its rules, namespaceSelector and objectSelector match" }],
    ["rules for Deployments only", hook("d", { rules: [{ operations: ["CREATE"], apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"] }] }), request(), { called: false, code: "rules_do_not_match" }],
    ["rules for UPDATE only", hook("u", { rules: [{ ...podRules[0], operations: ["UPDATE"] }] }), request(), { code: "rules_do_not_match" }],
    ["wildcard rules", hook("w", { rules: [{ operations: ["*"], apiGroups: ["*"], apiVersions: ["*"], resources: ["*"], scope: "*" }] }), request(), { called: true }],
    ["cluster-scoped rules only", hook("s", { rules: [{ ...podRules[0], scope: "Cluster" }] }), request(), { code: "rules_do_not_match" }],
    [
      "a namespace without the injection label",
      hook("ns", { namespaceSelector: { matchLabels: { "istio-injection": "enabled" } } }),
      request(pod(), {}),
      { called: false, code: "namespace_selector_excludes", message: "its namespaceSelector term istio-injection=enabled (istio-injection is absent) excludes namespace shop" },
    ],
    [
      "a namespace excluded by name (the label the API server sets)",
      hook("ns", { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "shop"] }] } }),
      request(),
      { code: "namespace_selector_excludes", message: "its namespaceSelector term kubernetes.io/metadata.name notin (kube-system,shop) (kubernetes.io/metadata.name=shop) excludes namespace shop" },
    ],
    [
      "a pod labelled out by the objectSelector",
      hook("obj", { objectSelector: { matchExpressions: [{ key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] }] } }),
      request(pod({ labels: { "sidecar.istio.io/inject": "false" } })),
      { code: "object_selector_excludes", message: 'its objectSelector term sidecar.istio.io/inject notin (false) (sidecar.istio.io/inject=false) excludes the pod' },
    ],
    [
      "a hostNetwork pod kept out by a matchCondition",
      hook("mc", { matchConditions: [{ name: "not-host-network", expression: "!has(object.spec.hostNetwork) || !object.spec.hostNetwork" }] }),
      request(pod({}, { hostNetwork: true })),
      { code: "match_condition_false", message: "its matchCondition not-host-network (!has(object.spec.hostNetwork) || !object.spec.hostNetwork) is false for the pod" },
    ],
    [
      "an already injected pod kept out by a matchCondition on annotations (absent annotations allowed)",
      hook("mc", { matchConditions: [{ name: "not-injected", expression: "!has(object.metadata.annotations) || !('sidecar.istio.io/status' in object.metadata.annotations)" }] }),
      request(pod({ annotations: { "sidecar.istio.io/status": "{}" } })),
      { code: "match_condition_false" },
    ],
    [
      "matchConditions that hold, on request and namespaceObject",
      hook("mc", {
        matchConditions: [
          { name: "not-kube-system", expression: "request.namespace != 'kube-system'" },
          { name: "labelled", expression: "namespaceObject.metadata.labels['istio-injection'] == 'enabled'" },
          { name: "create", expression: "request.operation == 'CREATE' && oldObject == null" },
        ],
      }),
      request(),
      { called: true, message: "its rules, namespaceSelector and objectSelector match, and its 3 matchConditions hold" },
    ],
    [
      "a matchCondition that errs, under failurePolicy Fail",
      hook("err", { matchConditions: [{ name: "bad", expression: "object.spec.nothing.deeper == 1" }] }),
      request(),
      { called: false, code: "match_condition_error", failurePolicy: "Fail", message: expect.stringMatching(/^its matchCondition bad \(object\.spec\.nothing\.deeper == 1\) cannot be evaluated \(.+\); with failurePolicy Fail the API server would reject the pod$/) as unknown as string },
    ],
    [
      "a matchCondition that is not a boolean, under Ignore",
      hook("str", { failurePolicy: "Ignore", matchConditions: [{ name: "text", expression: "'yes'" }] }),
      request(),
      { code: "match_condition_error", failurePolicy: "Ignore", message: expect.stringMatching(/not a boolean\); with failurePolicy Ignore the webhook is skipped$/) as unknown as string },
    ],
  ])("%s", (_name, w, req, expected) => {
    expect(one(w, req)).toMatchObject(expected);
  });

  it("an expression that does not parse errs the same way every time it is judged (planned once, kept)", () => {
    const w = hook("syntax", { matchConditions: [{ name: "broken", expression: "request.namespace ==" }] });
    const first = one(w);
    expect(first).toMatchObject({ called: false, code: "match_condition_error", message: expect.stringMatching(/^its matchCondition broken \(request\.namespace ==\) cannot be evaluated \(.+\)/) as unknown as string });
    expect(one(w)).toEqual(first);
    // The same expression planned once gives each pod its own answer.
    const byNamespace = hook("ns", { matchConditions: [{ name: "shop-only", expression: "request.namespace == 'shop'" }] });
    expect([one(byNamespace).called, one(byNamespace, request(pod(), {}, "other")).called, one(byNamespace).called]).toEqual([true, false, true]);
  });

  it("lists webhooks in the API server's order: configurations by name, then as listed, with where each call goes", () => {
    const matches = matchWebhooks(
      [config("zeta", hook("z1"), hook("z2")), config("istio-sidecar-injector", hook("rev.namespace.sidecar-injector.istio.io", { clientConfig: { url: "https://istiod.example:15017/inject" } })), config("alpha", hook("a1"))],
      request(),
    );
    expect(matches.map((m) => `${m.configuration}/${m.webhook}`)).toEqual(["alpha/a1", "istio-sidecar-injector/rev.namespace.sidecar-injector.istio.io", "zeta/z1", "zeta/z2"]);
    expect(matches.map((m) => m.target)).toEqual(["service sidecar-injector/sidecar-injector:443/inject", "https://istiod.example:15017/inject", "service sidecar-injector/sidecar-injector:443/inject", "service sidecar-injector/sidecar-injector:443/inject"]);
  });

  it("judges our own shipped webhook configuration like the API server: a labelled namespace's pod is sent once, kube-system's never", async () => {
    const { renderKustomization } = await import("../../test/support/kustomize.js");
    const { join } = await import("node:path");
    const shipped = renderKustomization(join(import.meta.dirname, "..", "..", "manifests")).filter((o) => o.kind === "MutatingWebhookConfiguration");
    const called = (req: PodRequest) => matchWebhooks(shipped, req).filter((m) => m.called).map((m) => m.webhook);
    expect(called(request())).toEqual(["namespace.sidecar-injector.io"]);
    expect(called(request(pod({ labels: { "sidecar.istio.io/inject": "true" } }), {}, "plain"))).toEqual(["object.sidecar-injector.io"]);
    expect(called(request(pod(), {}, "plain"))).toEqual([]);
    expect(called(request(pod(), { "istio-injection": "enabled" }, "kube-system"))).toEqual([]);
    expect(called(request(pod({}, { hostNetwork: true })))).toEqual([]);
  });
});
