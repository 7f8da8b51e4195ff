/**
 * The patch built by construction against the diff, its oracle (fast-check). On generated pods —
 * probes of every kind, Prometheus annotations, null and absent maps and lists, keys in any order,
 * native and classic mode, holdApplicationUntilProxyStarts, image pull secrets — the constructed
 * patch must:
 * - be, operation for operation, the diff of the pod and injectPod's result (the general path);
 * - apply cleanly (strict RFC 6902 applier and fast-json-patch);
 * - equal diff(original, apply(original, patch)) as a set of operations: minimal, nothing the diff
 *   would not write (in another order only where JSON has none: an annotation the Prometheus merge
 *   removes and sets again is replaced where it stands, and the diff lists it there);
 * - encode to exactly JSON.stringify's text (the proxy's spliced text included).
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import fjp from "fast-json-patch";
import { readOverrides } from "../../src/injection/annotations.js";
import { constructPatch } from "../../src/injection/build-patch.js";
import { injectPod } from "../../src/injection/inject.js";
import { applyPatchTo, createPatch, encodePatch } from "../../src/injection/patch.js";
import { type InjectionContext, resolveNative, runInjection } from "../../src/injection/pipeline.js";
import { ELIDED, type Pod } from "../../src/injection/pod.js";
import { renderSidecar } from "../../src/injection/render.js";
import { workloadOf } from "../../src/injection/workload.js";
import { testContext } from "../support/builders.js";
import { applyStrict } from "../support/strict-patch.js";

const name = fc.stringMatching(/^[a-z]([a-z0-9-]{0,7}[a-z0-9])?$/);
const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom("http", "8080", "metrics", 15020));
const probe = fc.oneof(
  fc.record(
    {
      httpGet: fc.record({ path: fc.constantFrom("/ready", "/", "/health?full=1"), port, scheme: fc.constantFrom("HTTP", "HTTPS"), host: fc.constantFrom("", "localhost") }, { requiredKeys: ["port"] }),
      periodSeconds: fc.integer({ min: 1, max: 30 }),
      timeoutSeconds: fc.integer({ min: 0, max: 5 }),
    },
    { requiredKeys: ["httpGet"] },
  ),
  fc.record({ tcpSocket: fc.record({ port }), initialDelaySeconds: fc.integer({ min: 0, max: 9 }) }, { requiredKeys: ["tcpSocket"] }),
  fc.record({ grpc: fc.record({ port: fc.integer({ min: 1, max: 65535 }), service: fc.constantFrom("a", "b") }, { requiredKeys: ["port"] }) }),
  fc.constant({ exec: { command: ["true"] } }),
);
const container = fc.record(
  {
    name,
    image: fc.constantFrom("nginx:1.27", "busybox"),
    ports: fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }), name: fc.constantFrom("http", "metrics", "grpc") }), { maxLength: 2 }),
    env: fc.array(fc.record({ name: fc.stringMatching(/^[A-Z_]{1,6}$/), value: fc.string({ maxLength: 6 }) }), { maxLength: 2 }),
    readinessProbe: probe,
    livenessProbe: probe,
    startupProbe: probe,
  },
  { requiredKeys: ["name"] },
);
const prometheus = fc.dictionary(
  fc.constantFrom("prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path", "prometheus.io.scrape", "prometheus-io/port"),
  fc.constantFrom("true", "false", "9090", "/metrics"),
  { maxKeys: 3 },
);
const extraAnnotations = fc.dictionary(fc.constantFrom("team/owner", "istio.io/rev", "kubectl.kubernetes.io/default-container", "a"), fc.constantFrom("x", "canary"), { maxKeys: 2 });
const switches = fc.record(
  {
    "sidecar.istio.io/nativeSidecar": fc.constantFrom("true", "false"),
    "sidecar.istio.io/rewriteAppHTTPProbers": fc.constantFrom("true", "false"),
    "proxy.istio.io/config": fc.constantFrom('{"holdApplicationUntilProxyStarts":true}', '{"holdApplicationUntilProxyStarts":false}'),
    "k8s.v1.cni.cncf.io/networks": fc.constantFrom("alt", "default/istio-cni", '[{"name": "alt"}]', "[]", "[oops]"),
    "resource.opentelemetry.io/service.version": fc.constantFrom("", "2.0"),
  },
  { requiredKeys: [] },
);
const absentOrNull = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, fc.constant(null), fc.constant(undefined));

function uniqueNames<T extends { name: string }>(items: T[], taken = new Set<string>()): T[] {
  return items.filter((i) => !taken.has(i.name) && taken.add(i.name));
}

/** The object's keys in the order given by `order` (a permutation seed): the patch follows key order. */
function reorder(obj: Record<string, unknown>, order: number[]): Record<string, unknown> {
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  const sorted = keys.map((k, i) => [k, order[i % order.length] ?? 0] as const).sort((a, b) => a[1] - b[1]);
  return Object.fromEntries(sorted.map(([k]) => [k, obj[k]]));
}

const pod = fc
  .record({
    labels: absentOrNull(fc.dictionary(fc.constantFrom("app", "version", "service.istio.io/canonical-name", "x"), fc.constantFrom("web", "v2"), { maxKeys: 3 })),
    annotations: absentOrNull(fc.tuple(prometheus, extraAnnotations, switches).map(([a, b, c]) => ({ ...a, ...b, ...c }))),
    containers: fc.array(container, { minLength: 1, maxLength: 3 }),
    initContainers: absentOrNull(fc.array(container, { maxLength: 2 })),
    volumes: absentOrNull(fc.array(fc.record({ name, emptyDir: fc.constant({}) }), { maxLength: 3 })),
    imagePullSecrets: absentOrNull(fc.array(fc.record({ name: fc.constantFrom("regcred", "mirror") }), { maxLength: 2 })),
    specOrder: fc.array(fc.nat(9), { minLength: 6, maxLength: 6 }),
    metaOrder: fc.array(fc.nat(9), { minLength: 4, maxLength: 4 }),
  })
  .map((p): Pod => {
    const taken = new Set<string>();
    const containers = uniqueNames(p.containers, taken);
    const metadata = reorder({ name: "p", labels: p.labels, annotations: p.annotations, namespace: "default" }, p.metaOrder);
    const spec = reorder(
      {
        containers,
        initContainers: p.initContainers === null || p.initContainers === undefined ? p.initContainers : uniqueNames(p.initContainers, taken),
        volumes: p.volumes === null || p.volumes === undefined ? p.volumes : uniqueNames(p.volumes),
        imagePullSecrets: p.imagePullSecrets,
        serviceAccountName: "sa",
        restartPolicy: "Always",
      },
      p.specOrder,
    );
    return { apiVersion: "v1", kind: "Pod", metadata, spec } as unknown as Pod;
  });

const contexts: Array<[string, InjectionContext]> = [
  ["defaults", testContext()],
  ["native sidecars, image pull secrets", testContext({ nativeSidecars: "true", sidecar: { imagePullSecrets: ["mirror", "istio-pull"] } })],
  ["CNI", testContext({ cni: true })],
  ["CNI with Multus, OpenTelemetry's semantic conventions", testContext({ cni: true, cniProvider: "multus", otelSemanticConventions: true })],
];
const request = { operation: "CREATE" as const, kind: { group: "", version: "v1", kind: "Pod" } };

function sortedOps(ops: readonly unknown[]): string[] {
  return ops.map((op) => JSON.stringify(op)).sort();
}

/** The rendered sidecar for a pod, as the pipeline renders it for a first injection. */
function renderedFor(p: Pod, ctx: InjectionContext) {
  const overrides = readOverrides(p.metadata.annotations, ctx.template.templateNames);
  const native = resolveNative(ctx, overrides.nativeSidecar);
  return renderSidecar(ctx.template, { pod: p, namespace: "default", overrides, native, workload: workloadOf(p), userProxy: null });
}

describe.each(contexts)("the constructed patch (%s)", (_name, ctx) => {
  it("is the diff of injectPod's result, applies, is minimal and encodes as JSON.stringify does", () => {
    let constructed = 0;
    fc.assert(
      fc.property(pod, (input) => {
        const result = runInjection({ request, namespace: "default", object: input }, ctx);
        if (result.decision.verdict !== "inject") return;
        const rendered = renderedFor(input, ctx);
        const built = constructPatch(input, rendered);
        expect(built).not.toBeNull();
        constructed++;
        const oracle = createPatch(input, injectPod(input, rendered, null));
        expect(built).toEqual(oracle);
        expect(result.patch).toEqual(oracle);
        const applied = applyStrict(input, result.patch);
        expect(fjp.applyPatch(structuredClone(input), structuredClone(result.patch as fjp.Operation[]), true, false).newDocument).toEqual(applied);
        expect(applyPatchTo(input, result.patch)).toEqual(applied);
        expect(sortedOps(createPatch(input, applied))).toEqual(sortedOps(result.patch));
        expect(Buffer.from(encodePatch(result.patch), "base64").toString("utf8")).toBe(JSON.stringify(result.patch));
      }),
      { numRuns: 300 },
    );
    expect(constructed).toBeGreaterThan(100);
  });
});

describe("the general path", () => {
  it("is taken for a re-injection and for a user-declared istio-proxy, and its patch gives the pod it shows", () => {
    const ctx = testContext();
    const first = runInjection({ request, namespace: "default", object: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "web" }] } } }, ctx);
    // Injected before, but its proxy is gone: injected again, replacing what the record names.
    const injected = structuredClone(first.mutated) as Pod;
    injected.spec.containers = injected.spec.containers.filter((c) => c.name !== "istio-proxy");
    const userProxy = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "web" }, { name: "istio-proxy", resources: { limits: { cpu: "2" } } }] } } as unknown as Pod;
    expect(constructPatch(userProxy, renderedFor(userProxy, ctx))).toBeNull();
    for (const p of [injected, userProxy]) {
      const result = runInjection({ request, namespace: "default", object: p }, ctx);
      expect(result.decision.verdict).toBe("inject");
      expect(result.patch.length).toBeGreaterThan(0);
      const applied = applyStrict(p, result.patch);
      expect(applied).toEqual(result.mutated);
      expect(fjp.applyPatch(structuredClone(p), structuredClone(result.patch as fjp.Operation[]), true, false).newDocument).toEqual(applied);
      expect((applied as Pod).spec.containers.filter((c) => c.name === "istio-proxy")).toHaveLength(1);
    }
    expect(runInjection({ request, namespace: "default", object: injected }, ctx).decision.previous).not.toBeNull();
  });
});

describe("a pod whose managedFields the admission route elided", () => {
  // parseReviewBytes leaves ELIDED where managedFields was; the pipeline reads it as absent.
  const elided = (p: Pod): Pod => ({ ...p, metadata: { ...p.metadata, managedFields: ELIDED } });
  it("gets the patch of the same pod without managedFields, constructed or general", () => {
    const ctx = testContext();
    fc.assert(
      fc.property(pod, (input) => {
        const plain = runInjection({ request, namespace: "default", object: input }, ctx);
        const cut = runInjection({ request, namespace: "default", object: elided(input) }, ctx);
        expect(cut.decision).toEqual(plain.decision);
        expect(cut.patch).toEqual(plain.patch);
      }),
      { numRuns: 100 },
    );
    const first = runInjection({ request, namespace: "default", object: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "web" }] } } }, ctx);
    const again = structuredClone(first.mutated) as Pod;
    again.spec.containers = again.spec.containers.filter((c) => c.name !== "istio-proxy");
    const plain = runInjection({ request, namespace: "default", object: again }, ctx);
    const cut = runInjection({ request, namespace: "default", object: elided(again) }, ctx);
    expect(plain.patch.length).toBeGreaterThan(0);
    expect(cut.patch).toEqual(plain.patch);
    expect(JSON.stringify(cut.patch)).not.toContain("managedFields");
  });
});
