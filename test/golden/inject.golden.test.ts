/**
 * Golden-file tests: every testdata/inject/<case>.pod.json is run through the injection pipeline
 * and through the webhook handler, and compared with <case>.injected.json (the pod after
 * injection) and <case>.decision.json (verdict, reasons, warnings, audit annotations, or the error).
 * Optional <case>.params.json sets { namespace, config, clusterSupportsNativeSidecars }.
 *
 * UPDATE_GOLDEN=1 npm run test:golden rewrites the goldens; review their diff like code.
 * A golden without an input fails the run (stale).
 */
import { existsSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import fjp from "fast-json-patch";
import { handleAdmission, replayAdmission } from "../../src/admission/handler.js";
import { ReplayCache, replayKey } from "../../src/admission/replay-cache.js";
import { parseAdmissionReview } from "../../src/admission/review.js";
import { InjectorError } from "../../src/errors.js";
import { type InjectionContext, runInjection } from "../../src/injection/pipeline.js";
import { silentLogger } from "../../src/log.js";
import { reviewFor, testContext } from "../support/builders.js";
import { applyStrict } from "../support/strict-patch.js";

const DIR = join(import.meta.dirname, "testdata", "inject");
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const INPUT = ".pod.json";
const OUTPUTS = [".injected.json", ".decision.json"];

interface Params {
  namespace?: string;
  config?: unknown;
  clusterSupportsNativeSidecars?: boolean;
}

const files = readdirSync(DIR);
const cases = files.filter((f) => f.endsWith(INPUT)).map((f) => f.slice(0, -INPUT.length)).sort();

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function golden(path: string, actual: unknown): void {
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (UPDATE) {
    writeFileSync(path, text);
    return;
  }
  if (!existsSync(path)) throw new Error(`missing golden ${path}; run UPDATE_GOLDEN=1 npm run test:golden`);
  expect(JSON.parse(text)).toEqual(readJson(path));
}

function decodePatch(patch: string | undefined): fjp.Operation[] {
  return patch === undefined ? [] : (JSON.parse(Buffer.from(patch, "base64").toString("utf8")) as fjp.Operation[]);
}

describe("golden injection cases", () => {
  it("has cases", () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  it("has no stale goldens (every output has an input)", () => {
    const stale = files.filter((f) => {
      const suffix = [...OUTPUTS, ".params.json"].find((s) => f.endsWith(s));
      return suffix !== undefined && !cases.includes(f.slice(0, -suffix.length));
    });
    expect(stale).toEqual([]);
  });

  it.each(cases)("%s", (name) => {
    const pod = readJson<Record<string, unknown>>(join(DIR, `${name}${INPUT}`));
    const paramsPath = join(DIR, `${name}.params.json`);
    const params: Params = existsSync(paramsPath) ? readJson<Params>(paramsPath) : {};
    const ctx: InjectionContext = testContext(params.config, params.clusterSupportsNativeSidecars);
    const namespace = params.namespace ?? "default";
    const input = { request: { operation: "CREATE" as const, kind: { group: "", version: "v1", kind: "Pod" } }, namespace, object: pod };

    // The core path.
    let result;
    try {
      result = runInjection(input, ctx);
    } catch (err) {
      if (!(err instanceof InjectorError)) throw err;
      golden(join(DIR, `${name}.decision.json`), { error: { code: err.code, status: err.status, reason: err.reason, problems: err.problems } });
      const injectedPath = join(DIR, `${name}.injected.json`);
      if (UPDATE && existsSync(injectedPath)) unlinkSync(injectedPath);
      expect(existsSync(injectedPath)).toBe(false);
      // The webhook path denies with the same error.
      const response = handleAdmission(parseAdmissionReview(reviewFor(pod, { namespace })), {
        context: () => ctx,
        logger: silentLogger(),
        now: () => 0,
      });
      expect(response.allowed).toBe(false);
      expect(response.status?.code).toBe(err.status);
      expect(response.status?.message).toBe(err.message);
      return;
    }
    golden(join(DIR, `${name}.injected.json`), result.mutated);
    golden(join(DIR, `${name}.decision.json`), {
      verdict: result.decision.verdict,
      decidedBy: result.decision.decidedBy,
      reasons: result.decision.reasons,
      warnings: result.warnings,
      auditAnnotations: result.auditAnnotations,
      patchOps: result.patch.map((op) => `${op.op} ${op.path}`),
    });
    expect(pod).toEqual(readJson(join(DIR, `${name}${INPUT}`))); // input untouched

    // The webhook path: its patch, applied the way the API server would, gives the same pod.
    const response = handleAdmission(parseAdmissionReview(reviewFor(pod, { namespace })), {
      context: () => ctx,
      logger: silentLogger(),
      now: () => 0,
    });
    expect(response.allowed).toBe(true);
    expect(response.warnings ?? []).toEqual(result.warnings);
    // An identical pod (another uid) is answered from the replay cache: the same answer.
    const replay = new ReplayCache();
    const replayDeps = { context: () => ctx, logger: silentLogger(), now: () => 0, replay };
    const textFor = (uid: string) => JSON.stringify(reviewFor(pod, { namespace, uid }));
    const first = handleAdmission(parseAdmissionReview(JSON.parse(textFor("uid-first"))), replayDeps, replayKey(textFor("uid-first")));
    const again = replayAdmission(replayKey(textFor("uid-again")), replayDeps);
    expect(replay.size).toBe(1);
    expect(first).toEqual({ ...response, uid: "uid-first" });
    expect(again?.response).toEqual({ ...response, uid: "uid-again" });
    const ops = decodePatch(response.patch);
    expect(response.patchType).toBe(ops.length > 0 ? "JSONPatch" : undefined);
    // The patch only adds; it may replace an unreadable status record of ours, and the app's
    // prometheus.io annotations when the Prometheus merge points them at the agent (as Istio does).
    // The app's probes are pointed at the agent (as Istio does) when probe rewriting is on.
    // The revision annotation replaces the pod's own; every spelling of the app's Prometheus keys
    // is removed or replaced (Prometheus reads prometheus.io/x, prometheus.io.x, prometheus-io/x alike).
    // In CNI mode the excluded inbound ports the CNI plugin reads get the status port (as istiod writes them),
    // and with Multus the pod's networks get the CNI plugin's.
    const replaceable = /^\/metadata\/annotations\/(sidecar\.istio\.io~1status|istio\.io~1rev|traffic\.sidecar\.istio\.io~1excludeInboundPorts|k8s\.v1\.cni\.cncf\.io~1networks|prometheus[^a-zA-Z0-9_]io[^a-zA-Z0-9_](scrape|port|path)|prometheus[^a-zA-Z0-9_]io~1(scrape|port|path))$/;
    // Probes and HTTP/TCP lifecycle hooks handed to the agent, of app containers and init containers.
    const probe = /^\/spec\/(containers|initContainers)\/\d+\/((readiness|liveness|startup)Probe|lifecycle\/(preStop|postStart))\//;
    // A user-declared istio-proxy moves into initContainers in native mode (as in Istio).
    const containers = ((pod.spec as { containers?: Array<{ name?: string }> } | undefined)?.containers ?? []);
    const movedUserProxy = (path: string) => {
      const m = /^\/spec\/containers\/(\d+)$/.exec(path);
      return m !== null && containers[Number(m[1])]?.name === "istio-proxy";
    };
    // The user's own istio-proxy is filled in place (image "auto", the gateway template).
    const filledUserProxy = (path: string) => {
      const m = /^\/spec\/containers\/(\d+)\//.exec(path);
      return m !== null && containers[Number(m[1])]?.name === "istio-proxy";
    };
    // Re-injecting a pod injected before replaces what that injection added (the containers and
    // volumes its status record names) and the records of it.
    const previous = (() => {
      try {
        return JSON.parse((pod.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.["sidecar.istio.io/status"] ?? "null") as Record<string, string[] | null> | null;
      } catch {
        return null;
      }
    })();
    const ours = new Set([...(previous?.initContainers ?? []), ...(previous?.containers ?? []), ...(previous?.volumes ?? [])]);
    const podSpec = (pod.spec ?? {}) as Record<string, Array<{ name?: string }> | undefined>;
    const replacesOurs = (path: string) => {
      const m = /^\/spec\/(containers|initContainers|volumes)\/(\d+)(\/|$)/.exec(path);
      if (m !== null) return ours.has(podSpec[m[1] as string]?.[Number(m[2])]?.name ?? "");
      return previous !== null && /^\/metadata\/annotations\/(sidecar-injector\.io~1template-hash|proxy\.istio\.io~1overrides)$/.test(path);
    };
    for (const op of ops) {
      const allowed = replacesOurs(op.path) || op.op === "add" || replaceable.test(op.path) || probe.test(op.path) || filledUserProxy(op.path) || (op.op === "remove" && movedUserProxy(op.path));
      expect({ op: op.op, path: op.path, allowed }).toEqual({ op: op.op, path: op.path, allowed: true });
    }
    const expected = structuredClone(result.mutated) as Record<string, unknown>;
    const withManaged = (pod.metadata as Record<string, unknown> | undefined)?.managedFields;
    if (withManaged !== undefined) (expected.metadata as Record<string, unknown>).managedFields = withManaged;
    expect(applyStrict(pod, ops)).toEqual(expected);
    expect(fjp.applyPatch(structuredClone(pod), structuredClone(ops), true, false).newDocument).toEqual(expected);

    // Reinvocation with our own output changes nothing.
    if (result.decision.verdict === "inject") {
      const again = runInjection({ ...input, object: result.mutated }, ctx);
      expect(again.decision.verdict).toBe("already_injected");
      expect(again.patch).toEqual([]);
    }
  });
});
