/**
 * Property-based tests (fast-check): for varied pods, the patch applies (strictly and with
 * fast-json-patch), the result has unique container and volume names, the user's fields are
 * untouched, and a second pass yields no patch.
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import fjp from "fast-json-patch";
import { runInjection } from "../../src/injection/pipeline.js";
import type { Pod } from "../../src/injection/pod.js";
import { testContext } from "../support/builders.js";
import { applyStrict } from "../support/strict-patch.js";

// Names and keys as Kubernetes admits them (anything else is refused before injection).
const name = fc.stringMatching(/^[a-z]([a-z0-9-]{0,9}[a-z0-9])?$/);
const keyName = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,18}[A-Za-z0-9])?$/);
const keyPrefix = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z0-9]{1,6}){0,2}$/);
const key = fc.oneof(
  keyName,
  fc.tuple(keyPrefix, keyName).map(([p, n]) => `${p}/${n}`),
  fc.constantFrom("constructor", "prototype", "hasOwnProperty", "a/b", "app", "version"),
);
const labelValue = fc.stringMatching(/^([A-Za-z0-9]([A-Za-z0-9._-]{0,18}[A-Za-z0-9])?)?$/);
const labelMap = fc.option(fc.dictionary(key, labelValue, { maxKeys: 5 }), { nil: undefined });
const annotationMap = fc.option(fc.dictionary(key, fc.string({ maxLength: 20 }), { maxKeys: 5 }), { nil: undefined });
// Round-tripped through JSON text, as a request body is (so -0 becomes 0).
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);

const container = fc.record(
  {
    name,
    image: fc.constantFrom("nginx:1.27", "busybox", "registry.example/app@sha256:abc"),
    ports: fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }), protocol: fc.constantFrom("TCP", "UDP") }), { maxLength: 3 }),
    env: fc.array(fc.record({ name: fc.stringMatching(/^[A-Z_]{1,8}$/), value: fc.string({ maxLength: 10 }) }), { maxLength: 3 }),
    extra: json,
  },
  { requiredKeys: ["name"] },
);

function uniqueByName<T extends { name: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => !seen.has(i.name) && seen.add(i.name));
}

const pod = fc
  .record({
    labels: labelMap,
    annotations: annotationMap,
    containers: fc.array(container, { minLength: 1, maxLength: 4 }),
    initContainers: fc.option(fc.array(container, { maxLength: 3 }), { nil: undefined }),
    volumes: fc.option(fc.array(fc.record({ name, emptyDir: fc.constant({}) }), { maxLength: 4 }), { nil: undefined }),
    native: fc.option(fc.constantFrom("true", "false"), { nil: undefined }),
    extraSpec: json,
  })
  .map((p): Pod => {
    // Kubernetes requires unique names across containers and init containers.
    const all = uniqueByName([...p.containers, ...(p.initContainers ?? [])]);
    const containers = all.slice(0, Math.max(1, p.containers.length));
    const init = all.slice(containers.length);
    const annotations = p.annotations ? { ...p.annotations } : undefined;
    if (annotations && p.native) annotations["sidecar.istio.io/nativeSidecar"] = p.native;
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "p",
        ...(p.labels && { labels: p.labels }),
        ...(annotations && { annotations }),
      },
      spec: {
        containers,
        ...(p.initContainers && { initContainers: init }),
        ...(p.volumes && { volumes: uniqueByName(p.volumes) }),
        extra: p.extraSpec,
      },
    };
  });

const ctx = testContext();
const request = { operation: "CREATE" as const, kind: { group: "", version: "v1", kind: "Pod" } };

function names(p: Pod): { containers: string[]; volumes: string[] } {
  return {
    containers: [...p.spec.containers, ...(p.spec.initContainers ?? [])].map((c) => c.name),
    volumes: (p.spec.volumes ?? []).map((v) => v.name),
  };
}

describe("injection properties", () => {
  it("patch applies, names stay unique, user fields untouched, second pass is a no-op", () => {
    fc.assert(
      fc.property(pod, (input) => {
        const frozen = JSON.stringify(input);
        const result = runInjection({ request, namespace: "default", object: input }, ctx);
        expect(JSON.stringify(input)).toBe(frozen); // never mutates its input
        const patched = applyStrict(input, result.patch);
        expect(patched).toEqual(result.mutated);
        expect(fjp.applyPatch(structuredClone(input), structuredClone(result.patch as fjp.Operation[]), true, false).newDocument).toEqual(
          result.mutated,
        );
        const out = result.mutated as Pod;
        const n = names(out);
        expect(new Set(n.containers).size).toBe(n.containers.length);
        expect(new Set(n.volumes).size).toBe(n.volumes.length);

        // Every user container, volume, label and annotation is there, unchanged.
        for (const c of [...input.spec.containers, ...(input.spec.initContainers ?? [])]) {
          expect([...out.spec.containers, ...(out.spec.initContainers ?? [])].find((x) => x.name === c.name)).toEqual(c);
        }
        for (const v of input.spec.volumes ?? []) expect(out.spec.volumes?.find((x) => x.name === v.name)).toEqual(v);
        for (const [k, v] of Object.entries(input.metadata.labels ?? {})) expect(out.metadata.labels?.[k]).toBe(v);
        for (const [k, v] of Object.entries(input.metadata.annotations ?? {})) {
          if (k !== "sidecar.istio.io/status") expect(out.metadata.annotations?.[k]).toBe(v);
        }
        expect(out.spec.extra).toEqual(input.spec.extra);
        for (const op of result.patch) expect(["add", "replace"]).toContain(op.op);

        if (result.decision.verdict === "inject") {
          const again = runInjection({ request, namespace: "default", object: out }, ctx);
          expect(again.decision.verdict).toBe("already_injected");
          expect(again.patch).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("the app's order of containers is kept and the proxy is last (classic) or second init (native)", () => {
    fc.assert(
      fc.property(pod, (input) => {
        const result = runInjection({ request, namespace: "default", object: input }, ctx);
        if (result.decision.verdict !== "inject") return;
        const out = result.mutated as Pod;
        const appNames = input.spec.containers.map((c) => c.name);
        const native = input.metadata.annotations?.["sidecar.istio.io/nativeSidecar"] === "true";
        if (native) {
          expect(out.spec.containers.map((c) => c.name)).toEqual(appNames);
          expect(out.spec.initContainers?.slice(0, 2).map((c) => c.name)).toEqual(["istio-init", "istio-proxy"]);
        } else {
          expect(out.spec.containers.map((c) => c.name)).toEqual([...appNames, "istio-proxy"]);
          expect(out.spec.initContainers?.at(-1)?.name).toBe("istio-init");
        }
      }),
      { numRuns: 200 },
    );
  });
});
