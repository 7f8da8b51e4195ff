import { describe, expect, it } from "@jest/globals";
import { DEFAULT_CONFIG } from "../config/config.js";
import { InvalidAnnotationError } from "../errors.js";
import { ANNOTATION_VALIDATORS, readOverrides } from "./annotations.js";

const base = DEFAULT_CONFIG.sidecar.resources;

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
  ])("%s=%j", (key, value, expected) => {
    expect(readOverrides({ [key]: value }, base)).toEqual(expected);
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
    ["sidecar.istio.io/interceptionMode", "redirect", "one of REDIRECT, TPROXY"],
    ["traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0", "CIDRs"],
    ["traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.0/33", "CIDRs"],
    ["traffic.sidecar.istio.io/includeInboundPorts", "http", "ports 1-65535"],
    ["traffic.sidecar.istio.io/excludeInboundPorts", "*", "ports 1-65535"],
    ["traffic.sidecar.istio.io/includeOutboundPorts", "70000", "ports 1-65535"],
    ["traffic.sidecar.istio.io/excludeOutboundPorts", "0", "ports 1-65535"],
    ["sidecar.istio.io/nativeSidecar", "yes", "true or false"],
    ["proxy.istio.io/config", "[1, 2]", "a JSON or YAML object"],
    ["proxy.istio.io/config", "{holdApplicationUntilProxyStarts: yes please}", "a JSON or YAML object"],
    ["proxy.istio.io/config", "{not json", "a JSON or YAML object"],
    ["prometheus.istio.io/merge-metrics", "off", "true or false"],
    ["sidecar.istio.io/rewriteAppHTTPProbers", "no", "true or false"],
  ])("%s=%j", (key, value, form) => {
    let caught: unknown;
    try {
      readOverrides({ [key]: value }, base);
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
        base,
      ),
    ).toThrow(/proxyCPU="lots".*logLevel="loud".*excludeInboundPorts="x"/);
  });

  it("catches a request above the (configured or overridden) limit", () => {
    expect(() => readOverrides({ "sidecar.istio.io/proxyCPU": "3" }, base)).toThrow(
      /cpu request 3 \(sidecar.istio.io\/proxyCPU\) exceeds its limit 2000m/,
    );
    expect(readOverrides({ "sidecar.istio.io/proxyCPU": "3", "sidecar.istio.io/proxyCPULimit": "4" }, base)).toEqual({
      proxyCPU: "3",
      proxyCPULimit: "4",
    });
    expect(() => readOverrides({ "sidecar.istio.io/proxyMemoryLimit": "64Mi" }, base)).toThrow(/memory request 128Mi/);
  });

  it("ignores unrelated annotations and reads only own properties", () => {
    const annotations = JSON.parse('{"__proto__":{"sidecar.istio.io/proxyCPU":"lots"},"team":"a"}') as Record<string, string>;
    expect(readOverrides(annotations, base)).toEqual({});
  });

  it("has a validator for every documented override", () => {
    expect(Object.keys(ANNOTATION_VALIDATORS)).toHaveLength(19);
  });
});
