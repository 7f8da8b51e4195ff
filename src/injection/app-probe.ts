/**
 * App probe rewriting (Istio's app_probe): with mTLS and traffic capture the kubelet's probes
 * cannot reach the app directly, so HTTP, TCP and gRPC liveness, readiness and startup probes of
 * app containers are pointed at the agent (`:15020/app-health/<container>/livez|readyz|startupz`),
 * and the original probes travel to the agent in ISTIO_KUBE_APP_PROBERS. Exec probes are left
 * alone. Pure: returns new container objects; the originals are not touched.
 */
import { ProxyPort } from "../config/config.js";
import type { Container } from "./pod.js";
import { isObject } from "../json-values.js";

const KINDS = [
  ["readinessProbe", "readyz"],
  ["livenessProbe", "livez"],
  ["startupProbe", "startupz"],
] as const;

type Json = Record<string, unknown>;


/** A probe port (number, numeric string or port name) as a number, or null when unresolvable. */
function resolvePort(port: unknown, container: Container): number | null {
  if (port === ProxyPort.AgentStatus) return null; // already pointed at the agent
  if (typeof port === "number" && Number.isInteger(port)) return port;
  if (typeof port !== "string") return null;
  if (/^\d+$/.test(port)) return Number(port);
  const named = (container.ports ?? []).find((p) => p.name === port);
  return typeof named?.containerPort === "number" ? named.containerPort : null;
}

/** The agent-side prober for a probe (Istio's Prober JSON), or null when it is not rewritten. */
function proberFor(probe: Json, container: Container): Json | null {
  const timeout = typeof probe.timeoutSeconds === "number" && probe.timeoutSeconds > 0 ? { timeoutSeconds: probe.timeoutSeconds } : {};
  if (isObject(probe.httpGet)) {
    const h = probe.httpGet;
    const port = resolvePort(h.port, container);
    if (port === null) return null;
    return {
      httpGet: {
        ...(typeof h.path === "string" && { path: h.path }),
        port,
        ...(typeof h.host === "string" && h.host !== "" && { host: h.host }),
        ...(typeof h.scheme === "string" && { scheme: h.scheme }),
        ...(Array.isArray(h.httpHeaders) && h.httpHeaders.length > 0 && { httpHeaders: h.httpHeaders }),
      },
      ...timeout,
    };
  }
  if (isObject(probe.tcpSocket)) {
    const port = resolvePort(probe.tcpSocket.port, container);
    if (port === null) return null;
    return { tcpSocket: { port, ...(typeof probe.tcpSocket.host === "string" && { host: probe.tcpSocket.host }) }, ...timeout };
  }
  if (isObject(probe.grpc)) {
    const port = resolvePort(probe.grpc.port, container);
    if (port === null) return null;
    return { grpc: { port, ...(typeof probe.grpc.service === "string" && { service: probe.grpc.service }) }, ...timeout };
  }
  return null; // exec probes (and anything else) stay as they are
}

/**
 * The rewritten probe, as Istio writes it: an HTTP probe keeps everything but gets the agent's path
 * and port (HTTPS becomes HTTP: the agent makes the HTTPS call); a TCP or gRPC probe becomes an HTTP
 * GET on the agent. Timing settings are kept.
 */
function rewrite(probe: Json, path: string): Json {
  const { tcpSocket: _tcp, grpc: _grpc, ...rest } = probe;
  if (isObject(probe.httpGet)) {
    const httpGet: Json = { ...probe.httpGet, path, port: ProxyPort.AgentStatus };
    if (httpGet.scheme === "HTTPS") httpGet.scheme = "HTTP";
    return { ...rest, httpGet };
  }
  return { ...rest, httpGet: { path, port: ProxyPort.AgentStatus } };
}

export interface RewrittenProbes {
  /** The app containers with their probes pointed at the agent (same array when nothing changed). */
  readonly containers: Container[];
  /** ISTIO_KUBE_APP_PROBERS: agent path → original prober, keys sorted; null when empty. */
  readonly probers: string | null;
}

export function rewriteAppProbes(containers: readonly Container[]): RewrittenProbes {
  const probers: Record<string, Json> = {};
  let changed = false;
  const out = containers.map((c) => {
    let copy: Container | undefined;
    for (const [field, suffix] of KINDS) {
      const probe = c[field];
      if (!isObject(probe)) continue;
      const prober = proberFor(probe, c);
      if (prober === null) continue;
      const path = `/app-health/${c.name}/${suffix}`;
      probers[path] = prober;
      copy ??= { ...c };
      copy[field] = rewrite(probe, path);
    }
    if (copy === undefined) return c;
    changed = true;
    return copy;
  });
  const keys = Object.keys(probers).sort();
  return {
    containers: changed ? out : [...containers],
    probers: keys.length === 0 ? null : JSON.stringify(Object.fromEntries(keys.map((k) => [k, probers[k]]))),
  };
}
