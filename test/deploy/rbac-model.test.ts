import { describe, expect, it } from "@jest/globals";
import { describeRequest, isAllowed } from "../support/rbac.js";

const names = { namespace: "mesh", secret: "certs", webhookConfig: "injector", istio: { namespace: "istio-system", configMaps: ["istio-sidecar-injector", "istio"] } };

describe("describeRequest", () => {
  it.each([
    ["GET", "/api/v1/namespaces", { verb: "list", group: "", resource: "namespaces" }],
    ["GET", "/api/v1/namespaces?watch=true&resourceVersion=5", { verb: "watch", resource: "namespaces" }],
    ["GET", "/api/v1/namespaces/mesh/secrets/certs", { verb: "get", namespace: "mesh", resource: "secrets", name: "certs" }],
    ["GET", "/api/v1/namespaces/mesh/secrets?fieldSelector=metadata.name%3Dcerts&watch=1", { verb: "watch", name: "certs" }],
    ["PUT", "/apis/coordination.k8s.io/v1/namespaces/mesh/leases/l", { verb: "update", group: "coordination.k8s.io", resource: "leases", name: "l" }],
    ["POST", "/apis/coordination.k8s.io/v1/namespaces/mesh/leases", { verb: "create", namespace: "mesh" }],
    ["PATCH", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/injector", { verb: "patch", name: "injector" }],
    ["DELETE", "/api/v1/namespaces/mesh/secrets", { verb: "deletecollection" }],
    ["GET", "/api/v1/namespaces/mesh/pods/p/log", { verb: "get", subresource: "log" }],
    ["GET", "/version", { verb: "get", isResource: false, path: "/version" }],
  ])("%s %s", (method, url, expected) => {
    expect(describeRequest(method, url)).toMatchObject(expected);
  });
});

describe("isAllowed", () => {
  const allowed = (method: string, url: string) => isAllowed(describeRequest(method, url), names);
  it.each([
    ["watch namespaces", "GET", "/api/v1/namespaces?watch=true", true],
    ["get our Secret", "GET", "/api/v1/namespaces/mesh/secrets/certs", true],
    ["watch our Secret by name", "GET", "/api/v1/namespaces/mesh/secrets?fieldSelector=metadata.name%3Dcerts&watch=true", true],
    ["create a Secret in our namespace", "POST", "/api/v1/namespaces/mesh/secrets", true],
    ["read another Secret", "GET", "/api/v1/namespaces/mesh/secrets/other", false],
    ["list every Secret", "GET", "/api/v1/namespaces/mesh/secrets", false],
    ["read our Secret's name elsewhere", "GET", "/api/v1/namespaces/default/secrets/certs", false],
    ["delete our Secret", "DELETE", "/api/v1/namespaces/mesh/secrets/certs", false],
    ["update a Lease", "PUT", "/apis/coordination.k8s.io/v1/namespaces/mesh/leases/x", true],
    ["patch our webhook configuration", "PATCH", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/injector", true],
    ["patch another webhook configuration", "PATCH", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio", false],
    ["list webhook configurations (audit)", "GET", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", true],
    ["create pods", "POST", "/api/v1/namespaces/mesh/pods", false],
    ["pod logs", "GET", "/api/v1/namespaces/mesh/pods/p/log", false],
    ["watch Istio's mesh ConfigMap by name (istio.fromCluster)", "GET", "/api/v1/namespaces/istio-system/configmaps?fieldSelector=metadata.name%3Distio&watch=true", true],
    ["list Istio's injector ConfigMap by name", "GET", "/api/v1/namespaces/istio-system/configmaps?fieldSelector=metadata.name%3Distio-sidecar-injector", true],
    ["list every ConfigMap of istio-system", "GET", "/api/v1/namespaces/istio-system/configmaps", false],
    ["another ConfigMap of istio-system", "GET", "/api/v1/namespaces/istio-system/configmaps?fieldSelector=metadata.name%3Distio-ca-root-cert", false],
    ["Istio's ConfigMap name in another namespace", "GET", "/api/v1/namespaces/mesh/configmaps?fieldSelector=metadata.name%3Distio", false],
    ["update Istio's ConfigMap", "PUT", "/api/v1/namespaces/istio-system/configmaps/istio", false],
    ["the version", "GET", "/version", true],
    ["metrics", "GET", "/metrics", false],
  ])("%s → %s", (_name, method, url, expected) => {
    expect(allowed(method, url)).toBe(expected);
  });
});
