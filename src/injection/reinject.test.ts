/**
 * Re-injection from the status record and proxy.istio.io/overrides: an injected pod, stripped of
 * what the record lists and injected again with the same settings, is the same pod. This is the
 * path istiod takes for every pod that carries a status record, and the one ours takes when a
 * listed container is missing; the user's own containers come back from the overrides record.
 */
import { describe, expect, it } from "@jest/globals";
import { aPod, testContext } from "../../test/support/builders.js";
import { Annotation } from "../config/config.js";
import { readOverrides } from "./annotations.js";
import { decide } from "./decision.js";
import { injectPod, stripInjected } from "./inject.js";
import { runInjection } from "./pipeline.js";
import type { Container, Pod } from "./pod.js";
import { userInitOf, userProxyOf } from "./proxy-overrides.js";
import { renderSidecar } from "./render.js";
import { readStatus } from "./status.js";

const ctx = testContext();
const nativeCtx = testContext(undefined, true);

function injectOnce(pod: Pod, c = ctx): Pod {
  const result = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "default", object: pod }, c);
  expect(result.decision.verdict).toBe("inject");
  return result.mutated as Pod;
}

/** Strip what the record lists and inject again, as a re-injection does. */
function injectAgain(injected: Pod, native: boolean, c = ctx): Pod {
  const previous = readStatus(injected.metadata.annotations);
  expect(previous).not.toBeNull();
  const overrides = readOverrides(injected.metadata.annotations, c.template.templateNames);
  const rendered = renderSidecar(c.template, {
    pod: injected,
    namespace: "default",
    overrides,
    native,
    userProxy: userProxyOf(injected, previous),
    userInit: userInitOf(injected, previous),
  });
  return injectPod(injected, rendered, previous);
}

const traffic: Container = { name: "traffic", image: "registry.example/traffic:1", readinessProbe: { httpGet: { port: 80 } } } as Container;

describe("re-injection of an injected pod gives the same pod", () => {
  it.each([
    ["a plain pod", aPod(), false],
    ["the user's own istio-init (image and args win)", aPod({ spec: { initContainers: [{ name: "istio-init", image: "my/init:1", args: ["my", "args"] } as Container] } }), false],
    ["the user's own istio-init and istio-proxy, native sidecars", aPod({ spec: { initContainers: [{ name: "istio-init", image: "my/init:1" } as Container], containers: [{ name: "web", image: "nginx" }, { name: "istio-proxy", image: "auto", tty: true } as Container] } }), true],
    ["the grpc-agent template, which changes the app container", aPod({ annotations: { "inject.istio.io/templates": "grpc-agent" }, spec: { containers: [traffic] } }), false],
    ["the grpc-simple template", aPod({ annotations: { "inject.istio.io/templates": "grpc-simple" }, spec: { containers: [traffic] } }), false],
  ] as const)("%s", (_name, pod, native) => {
    const c = native ? nativeCtx : ctx;
    const once = injectOnce(pod, c);
    expect(injectAgain(once, native, c)).toEqual(once);
  });
});

describe("what a re-injection reads", () => {
  it("the user's istio-init is merged over ours and recorded as the user wrote it", () => {
    const once = injectOnce(aPod({ spec: { initContainers: [{ name: "istio-init", image: "my/init:1", args: ["my", "args"] } as Container] } }));
    const init = once.spec.initContainers?.find((c) => c.name === "istio-init");
    expect(init?.image).toBe("my/init:1");
    expect(init?.args).toEqual(["my", "args"]);
    // Our fields the user did not set are kept.
    expect(init?.securityContext).toBeDefined();
    expect(JSON.parse(once.metadata.annotations?.[Annotation.ProxyOverrides] ?? "{}")).toEqual({ initContainers: [{ name: "istio-init", image: "my/init:1", args: ["my", "args"] }] });
    expect(readStatus(once.metadata.annotations)?.initContainers).toEqual(["istio-init"]);
  });

  it("an app container a template changed is listed in the status and recorded as the user wrote it", () => {
    const once = injectOnce(aPod({ annotations: { "inject.istio.io/templates": "grpc-agent" }, spec: { containers: [traffic] } }));
    expect(readStatus(once.metadata.annotations)?.containers).toEqual(["istio-proxy", "traffic"]);
    expect(JSON.parse(once.metadata.annotations?.[Annotation.ProxyOverrides] ?? "{}")).toEqual({ containers: [traffic] });
    expect(once.spec.containers.find((c) => c.name === "traffic")?.env).toBeDefined();
  });

  it.each([
    ["restored where it stands from the record", true, ["traffic", "sidecar-app"]],
    ["removed without a record of it, as istiod removes it", false, ["sidecar-app"]],
  ] as const)("a listed app container is %s", (_name, recorded, names) => {
    const pod: Pod = aPod({
      annotations: {
        [Annotation.Status]: JSON.stringify({ initContainers: null, containers: ["istio-proxy", "traffic"], volumes: [], imagePullSecrets: null, revision: "default" }),
        ...(recorded && { [Annotation.ProxyOverrides]: JSON.stringify({ containers: [traffic] }) }),
      },
      spec: { containers: [{ ...traffic, env: [{ name: "ADDED", value: "1" }] } as Container, { name: "istio-proxy", image: "proxy" }, { name: "sidecar-app", image: "x" }] },
    });
    const previous = readStatus(pod.metadata.annotations);
    if (previous === null) throw new Error("no status");
    stripInjected(pod, previous);
    expect(pod.spec.containers.map((c) => c.name)).toEqual(names);
    if (recorded) expect(pod.spec.containers[0]).toEqual(traffic);
  });

  it("a pod whose record lists the sidecar but lacks a container is decided for injection again", () => {
    const once = injectOnce(aPod({ annotations: { "inject.istio.io/templates": "grpc-agent" }, spec: { containers: [traffic] } }));
    const lacking: Pod = { ...once, spec: { ...once.spec, containers: once.spec.containers.filter((c) => c.name !== "istio-proxy") } };
    expect(decide(lacking, "default", ctx.template.policy).verdict).toBe("inject");
    expect(injectAgain(lacking, false)).toEqual(once);
  });
});
