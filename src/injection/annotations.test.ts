import { describe, expect, it } from "@jest/globals";
import { DEFAULT_CONFIG } from "../config/config.js";
import { InvalidAnnotationError } from "../errors.js";
import { ANNOTATION_VALIDATORS, readOverrides, resourcesFromAnnotations } from "./annotations.js";
import { templateNames } from "./templates.js";

const known = templateNames(DEFAULT_CONFIG.templates);

describe("readOverrides: valid values", () => {
  it.each([
    ["sidecar.istio.io/proxyImage", "registry.example/mesh/proxyv2:1.24.2", { proxyImage: "registry.example/mesh/proxyv2:1.24.2" }],
    ["sidecar.istio.io/proxyImage", "proxy@sha256:abcdef0123", { proxyImage: "proxy@sha256:abcdef0123" }],
    ["sidecar.istio.io/proxyCPU", "200m", { proxyCPU: "200m" }],
    ["sidecar.istio.io/proxyCPU", "0.5", { proxyCPU: "0.5" }],
    ["sidecar.istio.io/proxyMemory", "256Mi", { proxyMemory: "256Mi" }],
    ["sidecar.istio.io/proxyCPULimit", "1", { proxyCPULimit: "1" }],
    ["sidecar.istio.io/proxyMemoryLimit", "1Gi", { proxyMemoryLimit: "1Gi" }],
    ["sidecar.istio.io/logLevel", "debug", { logLevel: "debug" }],
    ["sidecar.istio.io/interceptionMode", "TPROXY", { interceptionMode: "TPROXY" }],
    ["traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0/8,fd00::/8", { includeOutboundIPRanges: "10.0.0.0/8,fd00::/8" }],
    ["traffic.sidecar.istio.io/includeOutboundIPRanges", "*", { includeOutboundIPRanges: "*" }],
    ["traffic.sidecar.istio.io/excludeOutboundIPRanges", "", { excludeOutboundIPRanges: "" }],
    ["traffic.sidecar.istio.io/includeInboundPorts", "*", { includeInboundPorts: "*" }],
    ["traffic.sidecar.istio.io/includeInboundPorts", "80, 443", { includeInboundPorts: "80, 443" }],
    ["traffic.sidecar.istio.io/excludeInboundPorts", "9000", { excludeInboundPorts: "9000" }],
    ["traffic.sidecar.istio.io/includeOutboundPorts", "5432", { includeOutboundPorts: "5432" }],
    ["traffic.sidecar.istio.io/excludeOutboundPorts", "3306,6379", { excludeOutboundPorts: "3306,6379" }],
    ["sidecar.istio.io/nativeSidecar", "true", { nativeSidecar: true }],
    ["proxy.istio.io/config", '{"holdApplicationUntilProxyStarts": true}', { proxyConfig: { holdApplicationUntilProxyStarts: true } }],
    ["proxy.istio.io/config", "holdApplicationUntilProxyStarts: false\nconcurrency: 2", { proxyConfig: { holdApplicationUntilProxyStarts: false, concurrency: 2 } }],
    ["prometheus.istio.io/merge-metrics", "false", { prometheusMerge: false }],
    ["sidecar.istio.io/rewriteAppHTTPProbers", "false", { rewriteAppProbers: false }],
    ["sidecar.istio.io/nativeSidecar", "false", { nativeSidecar: false }],
    ["sidecar.istio.io/interceptionMode", "NONE", { interceptionMode: "NONE" }],
    ["prometheus.istio.io/merge-metrics", "0", { prometheusMerge: false }],
    ["prometheus.istio.io/merge-metrics", "True", { prometheusMerge: true }],
    ["sidecar.istio.io/rewriteAppHTTPProbers", "F", { rewriteAppProbers: false }],
    ["status.sidecar.istio.io/port", "0", { statusPort: 0 }],
    ["status.sidecar.istio.io/port", "15021", { statusPort: 15021 }],
    ["readiness.status.sidecar.istio.io/initialDelaySeconds", "10", { readinessInitialDelaySeconds: 10 }],
    ["readiness.status.sidecar.istio.io/periodSeconds", "5", { readinessPeriodSeconds: 5 }],
    ["readiness.status.sidecar.istio.io/failureThreshold", "30", { readinessFailureThreshold: 30 }],
    ["traffic.sidecar.istio.io/kubevirtInterfaces", "net1", { rerouteInterfaces: "net1" }],
    ["istio.io/reroute-virtual-interfaces", "net1,net2", { rerouteInterfaces: "net1,net2" }],
    ["traffic.sidecar.istio.io/excludeInterfaces", "eth1", { excludeInterfaces: "eth1" }],
    ["sidecar.istio.io/componentLogLevel", "misc:error,upstream:debug", { componentLogLevel: "misc:error,upstream:debug" }],
    ["sidecar.istio.io/agentLogLevel", "default:debug", { agentLogLevel: "default:debug" }],
    ["inject.istio.io/templates", "gateway", { templates: ["gateway"] }],
    ["inject.istio.io/templates", " sidecar , grpc-simple ", { templates: ["sidecar", "grpc-simple"] }],
  ])("%s=%j", (key, value, expected) => {
    expect(readOverrides({ [key]: value }, known)).toEqual(expected);
  });
});

describe("readOverrides: invalid values name the annotation, the value and the form", () => {
  it.each([
    ["sidecar.istio.io/proxyImage", "has space", "container image reference"],
    ["sidecar.istio.io/proxyImage", "", "container image reference"],
    ["sidecar.istio.io/proxyCPU", "lots", "Kubernetes quantity"],
    ["sidecar.istio.io/proxyCPU", "-1", "Kubernetes quantity"],
    ["sidecar.istio.io/proxyMemory", "12 Mi", "Kubernetes quantity"],
    ["sidecar.istio.io/proxyCPULimit", "2 cores", "Kubernetes quantity"],
    ["sidecar.istio.io/proxyMemoryLimit", "1GB", "Kubernetes quantity"],
    ["sidecar.istio.io/logLevel", "verbose", "one of trace, debug"],
    ["sidecar.istio.io/interceptionMode", "redirect", "one of REDIRECT, TPROXY, NONE"],
    ["status.sidecar.istio.io/port", "65536", "a port 0-65535"],
    ["readiness.status.sidecar.istio.io/periodSeconds", "-1", "a whole number"],
    ["traffic.sidecar.istio.io/excludeInterfaces", "eth 1", "interface names"],
    ["istio.io/reroute-virtual-interfaces", "averyveryverylongname", "interface names"],
    ["inject.istio.io/templates", "sidecar,mystery", 'unknown template "mystery"'],
    ["inject.istio.io/templates", "sidecar,gateway", "each render the proxy"],
    ["inject.istio.io/templates", " , ", "template names"],
    ["traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0", "CIDRs"],
    ["traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.0/33", "CIDRs"],
    ["traffic.sidecar.istio.io/includeInboundPorts", "http", "ports 1-65535"],
    ["traffic.sidecar.istio.io/excludeInboundPorts", "*", "ports 1-65535"],
    ["traffic.sidecar.istio.io/includeOutboundPorts", "70000", "ports 1-65535"],
    ["traffic.sidecar.istio.io/excludeOutboundPorts", "0", "ports 1-65535"],
    ["proxy.istio.io/config", "[1, 2]", "a JSON or YAML object"],
    ["proxy.istio.io/config", "{holdApplicationUntilProxyStarts: yes please}", "a JSON or YAML object"],
    ["proxy.istio.io/config", "{not json", "a JSON or YAML object"],
    ["prometheus.istio.io/merge-metrics", "off", "true or false"],
  ])("%s=%j", (key, value, form) => {
    let caught: unknown;
    try {
      readOverrides({ [key]: value }, known);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidAnnotationError);
    const err = caught as InvalidAnnotationError;
    expect(err.status).toBe(422);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toContain(`${key}=${JSON.stringify(value)}`);
    expect(err.problems[0]).toContain(form);
  });

  it("reports every problem at once", () => {
    expect(() =>
      readOverrides(
        { "sidecar.istio.io/proxyCPU": "lots", "sidecar.istio.io/logLevel": "loud", "traffic.sidecar.istio.io/excludeInboundPorts": "x" },
        known,
      ),
    ).toThrow(/proxyCPU="lots".*logLevel="loud".*excludeInboundPorts="x"/);
  });

  it("resource annotations replace the configured resources; only they can contradict each other (as Istio)", () => {
    // The configured limit (2000m) no longer applies once an annotation sets resources.
    const alone = readOverrides({ "sidecar.istio.io/proxyCPU": "4000m" }, known);
    expect(alone).toEqual({ proxyCPU: "4000m" });
    expect(resourcesFromAnnotations(alone)).toEqual({ requests: { cpu: "4000m" }, limits: {} });
    expect(resourcesFromAnnotations(readOverrides({}, known))).toBeNull();
    expect(() => readOverrides({ "sidecar.istio.io/proxyCPU": "3", "sidecar.istio.io/proxyCPULimit": "2" }, known)).toThrow(
      /cpu request 3 \(sidecar.istio.io\/proxyCPU\) exceeds its limit 2 \(sidecar.istio.io\/proxyCPULimit\)/,
    );
    expect(readOverrides({ "sidecar.istio.io/proxyMemoryLimit": "64Mi" }, known)).toEqual({ proxyMemoryLimit: "64Mi" });
  });

  it("switches that Istio reads leniently are ignored with a sentence, not denied", () => {
    expect(readOverrides({ "sidecar.istio.io/rewriteAppHTTPProbers": "no" }, known)).toEqual({
      ignored: ['sidecar.istio.io/rewriteAppHTTPProbers="no" is not true or false (also 1, t, TRUE, 0, f, FALSE, as Go reads booleans); ignored (as Istio does), the default applies.'],
    });
    expect(readOverrides({ "sidecar.istio.io/nativeSidecar": "yes" }, known)).toEqual({
      nativeSidecar: true,
      ignored: ['sidecar.istio.io/nativeSidecar="yes" is not true or false; read as true (any value but "false" turns it on, as in Istio).'],
    });
  });

  it("knows the configured templates", () => {
    const withMine = templateNames({ "log-shipper": {} });
    expect(readOverrides({ "inject.istio.io/templates": "sidecar,log-shipper" }, withMine)).toEqual({ templates: ["sidecar", "log-shipper"] });
    expect(() => readOverrides({ "inject.istio.io/templates": "log-shipper" }, known)).toThrow(/unknown template "log-shipper"; known: sidecar, gateway, grpc-agent, grpc-simple/);
  });

  it("ignores unrelated annotations and reads only own properties", () => {
    const annotations = JSON.parse('{"__proto__":{"sidecar.istio.io/proxyCPU":"lots"},"team":"a"}') as Record<string, string>;
    expect(readOverrides(annotations, known)).toEqual({});
  });

  it("has a validator for every documented override", () => {
    expect(Object.keys(ANNOTATION_VALIDATORS)).toHaveLength(29);
  });
});
