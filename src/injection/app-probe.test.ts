import { describe, expect, it } from "@jest/globals";
import { rewriteAppProbes, withProbes } from "./app-probe.js";
import type { Container } from "./pod.js";

describe("rewriteAppProbes", () => {
  it("does not touch the given containers and shares the ones without probes", () => {
    const withProbe: Container = { name: "a", readinessProbe: { httpGet: { path: "/r", port: 80 } } };
    const without: Container = { name: "b" };
    const before = JSON.stringify([withProbe, without]);
    const out = rewriteAppProbes([withProbe, without]);
    const containers = withProbes([withProbe, without], out.probes);
    expect(JSON.stringify([withProbe, without])).toBe(before);
    expect(containers[1]).toBe(without);
    expect(containers[0]).not.toBe(withProbe);
    expect([...out.probes.keys()]).toEqual(["a"]);
  });

  it.each([
    ["already on the agent port", { httpGet: { path: "/app-health/a/readyz", port: 15020 } }],
    ["an exec probe", { exec: { command: ["true"] } }],
    ["an unknown port name", { tcpSocket: { port: "nope" } }],
    ["no port", { httpGet: { path: "/" } }],
  ])("leaves %s alone", (_name, probe) => {
    const container: Container = { name: "a", readinessProbe: probe };
    const out = rewriteAppProbes([container]);
    expect(out.probers).toBeNull();
    expect(out.probes.size).toBe(0);
    expect(withProbes([container], out.probes)[0]).toBe(container);
    expect(container.readinessProbe).toEqual(probe);
  });

  it("keys the probers by agent path, sorted", () => {
    const out = rewriteAppProbes([
      { name: "z", livenessProbe: { tcpSocket: { port: 1 } } },
      { name: "a", startupProbe: { grpc: { port: 2 } }, readinessProbe: { httpGet: { path: "/", port: "3" } } },
    ]);
    expect(Object.keys(JSON.parse(out.probers ?? "{}"))).toEqual(["/app-health/a/readyz", "/app-health/a/startupz", "/app-health/z/livez"]);
  });

  // The probers are written as text; each must be exactly JSON.stringify of Istio's Prober object.
  it.each([
    ["an HTTP probe, whole", { httpGet: { path: "/r", port: 80, host: "h", scheme: "HTTPS", httpHeaders: [{ name: "X", value: "1" }] }, timeoutSeconds: 2 }, { httpGet: { path: "/r", port: 80, host: "h", scheme: "HTTPS", httpHeaders: [{ name: "X", value: "1" }] }, timeoutSeconds: 2 }],
    ["an HTTP probe without path, empty host and headers", { httpGet: { port: "http", host: "", httpHeaders: [] } }, { httpGet: { port: 8080 } }],
    ["a path to escape", { httpGet: { path: '/a"b\\c\u0001\u00e9\ud83d\ude00\ud800', port: "81" } }, { httpGet: { path: '/a"b\\c\u0001\u00e9\ud83d\ude00\ud800', port: 81 } }],
    ["a TCP probe with host", { tcpSocket: { port: 5, host: "db" }, timeoutSeconds: 1.5 }, { tcpSocket: { port: 5, host: "db" }, timeoutSeconds: 1.5 }],
    ["a gRPC probe with service", { grpc: { port: 6, service: "s" }, timeoutSeconds: 0 }, { grpc: { port: 6, service: "s" } }],
    ["a timeout that is not positive", { grpc: { port: 6 }, timeoutSeconds: -1 }, { grpc: { port: 6 } }],
    ["a timeout that is not finite", { grpc: { port: 6 }, timeoutSeconds: Number.POSITIVE_INFINITY }, { grpc: { port: 6 }, timeoutSeconds: null }],
  ])("writes the prober of %s as JSON.stringify would", (_name, probe, prober) => {
    const out = rewriteAppProbes([{ name: "a", ports: [{ name: "http", containerPort: 8080 }], readinessProbe: probe }]);
    expect(out.probers).toBe(JSON.stringify({ "/app-health/a/readyz": prober }));
  });

  describe("lifecycle hooks (Istio's app-lifecycle)", () => {
    it.each([
      ["an HTTP preStop, named port, HTTPS", { preStop: { httpGet: { path: "/drain", port: "http", scheme: "HTTPS" } } }, { preStop: { httpGet: { path: "/app-lifecycle/a/prestopz", port: 15020, scheme: "HTTP" } } }, { "/app-lifecycle/a/prestopz": { httpGet: { path: "/drain", port: 8080, scheme: "HTTPS" } } }],
      ["a TCP postStart", { postStart: { tcpSocket: { port: 93 } } }, { postStart: { httpGet: { path: "/app-lifecycle/a/poststartz", port: 15020 } } }, { "/app-lifecycle/a/poststartz": { tcpSocket: { port: 93 } } }],
      ["an exec hook beside an HTTP one", { postStart: { exec: { command: ["x"] } }, preStop: { httpGet: { port: 91 } } }, { postStart: { exec: { command: ["x"] } }, preStop: { httpGet: { path: "/app-lifecycle/a/prestopz", port: 15020 } } }, { "/app-lifecycle/a/prestopz": { httpGet: { port: 91 } } }],
    ])("rewrites %s and hands the original to the agent", (_name, lifecycle, rewritten, probers) => {
      const container: Container = { name: "a", ports: [{ name: "http", containerPort: 8080 }], lifecycle };
      const before = JSON.stringify(container);
      const out = rewriteAppProbes([container]);
      expect(withProbes([container], out.probes)[0]?.lifecycle).toEqual(rewritten);
      expect(JSON.parse(out.probers ?? "null")).toEqual(probers);
      expect(JSON.stringify(container)).toBe(before);
    });

    it.each([
      ["exec hooks only", { preStop: { exec: { command: ["sleep", "5"] } } }],
      ["a hook already on the agent", { preStop: { httpGet: { path: "/app-lifecycle/a/prestopz", port: 15020 } } }],
      ["a sleep hook", { preStop: { sleep: { seconds: 5 } } }],
    ])("leaves %s alone", (_name, lifecycle) => {
      const container: Container = { name: "a", lifecycle };
      const out = rewriteAppProbes([container]);
      expect(out.probers).toBeNull();
      expect(withProbes([container], out.probes)[0]).toBe(container);
    });
  });
});

