import { describe, expect, it } from "@jest/globals";
import { rewriteAppProbes } from "./app-probe.js";
import type { Container } from "./pod.js";

describe("rewriteAppProbes", () => {
  it("does not touch the given containers and shares the ones without probes", () => {
    const withProbe: Container = { name: "a", readinessProbe: { httpGet: { path: "/r", port: 80 } } };
    const without: Container = { name: "b" };
    const before = JSON.stringify([withProbe, without]);
    const out = rewriteAppProbes([withProbe, without]);
    expect(JSON.stringify([withProbe, without])).toBe(before);
    expect(out.containers[1]).toBe(without);
    expect(out.containers[0]).not.toBe(withProbe);
  });

  it.each([
    ["already on the agent port", { httpGet: { path: "/app-health/a/readyz", port: 15020 } }],
    ["an exec probe", { exec: { command: ["true"] } }],
    ["an unknown port name", { tcpSocket: { port: "nope" } }],
    ["no port", { httpGet: { path: "/" } }],
  ])("leaves %s alone", (_name, probe) => {
    const out = rewriteAppProbes([{ name: "a", readinessProbe: probe }]);
    expect(out.probers).toBeNull();
    expect(out.containers[0]?.readinessProbe).toEqual(probe);
  });

  it("keys the probers by agent path, sorted", () => {
    const out = rewriteAppProbes([
      { name: "z", livenessProbe: { tcpSocket: { port: 1 } } },
      { name: "a", startupProbe: { grpc: { port: 2 } }, readinessProbe: { httpGet: { path: "/", port: "3" } } },
    ]);
    expect(Object.keys(JSON.parse(out.probers ?? "{}"))).toEqual(["/app-health/a/readyz", "/app-health/a/startupz", "/app-health/z/livez"]);
  });
});
