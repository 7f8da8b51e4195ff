/**
 * App probe rewriting (Istio's app_probe): with mTLS and traffic capture the kubelet's probes
 * cannot reach the app directly, so HTTP, TCP and gRPC liveness, readiness and startup probes of
 * app containers and of init containers (native sidecars of the app's own) are pointed at the agent
 * (`:15020/app-health/<container>/livez|readyz|startupz`), HTTP and TCP lifecycle hooks too
 * (`:15020/app-lifecycle/<container>/prestopz|poststartz`), and the originals travel to the agent
 * in ISTIO_KUBE_APP_PROBERS. Exec probes and hooks are left alone. Pure: returns new container objects; the originals are not touched.
 */
import { ProxyPort } from "../config/config.js";
import type { Container } from "./pod.js";
import { isObject, setOwn, withProps } from "../json-values.js";
import { quote } from "./patch.js";

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

/** JSON text of a number, as JSON.stringify writes it. */
function numberText(n: number): string {
  return Number.isFinite(n) ? String(n) : "null";
}

/**
 * The JSON text of the agent-side prober for a probe (Istio's Prober JSON), or null when it is not
 * rewritten. Written as text (field by field, as JSON.stringify would write the object): a
 * JSON.stringify call per small object cost more than the rest of the rewrite.
 */
function proberText(probe: Json, container: Container): string | null {
  let text: string;
  if (isObject(probe.httpGet)) {
    const h = probe.httpGet;
    const port = resolvePort(h.port, container);
    if (port === null) return null;
    text = `{"httpGet":{${typeof h.path === "string" ? `"path":${quote(h.path)},` : ""}"port":${numberText(port)}`;
    if (typeof h.host === "string" && h.host !== "") text += `,"host":${quote(h.host)}`;
    if (typeof h.scheme === "string") text += `,"scheme":${quote(h.scheme)}`;
    if (Array.isArray(h.httpHeaders) && h.httpHeaders.length > 0) text += `,"httpHeaders":${JSON.stringify(h.httpHeaders)}`;
  } else if (isObject(probe.tcpSocket)) {
    const port = resolvePort(probe.tcpSocket.port, container);
    if (port === null) return null;
    text = `{"tcpSocket":{"port":${numberText(port)}`;
    if (typeof probe.tcpSocket.host === "string") text += `,"host":${quote(probe.tcpSocket.host)}`;
  } else if (isObject(probe.grpc)) {
    const port = resolvePort(probe.grpc.port, container);
    if (port === null) return null;
    text = `{"grpc":{"port":${numberText(port)}`;
    if (typeof probe.grpc.service === "string") text += `,"service":${quote(probe.grpc.service)}`;
  } else {
    return null; // exec probes (and anything else) stay as they are
  }
  const timeout = probe.timeoutSeconds;
  return `${text}}${typeof timeout === "number" && timeout > 0 ? `,"timeoutSeconds":${numberText(timeout)}` : ""}}`;
}

/** Lifecycle hooks the agent takes over, and the agent path of each (Istio's app-lifecycle URLs). */
const HOOKS = [
  ["preStop", "prestopz"],
  ["postStart", "poststartz"],
] as const;

/**
 * The prober text of a lifecycle hook (HTTP GET or TCP; exec and sleep hooks stay where they are),
 * or null. A hook has no timeout of its own, so the prober has none either (as Istio writes it).
 */
function hookProberText(handler: Json, container: Container): string | null {
  if (!isObject(handler.httpGet) && !isObject(handler.tcpSocket)) return null;
  return proberText(isObject(handler.httpGet) ? { httpGet: handler.httpGet } : { tcpSocket: handler.tcpSocket }, container);
}

/**
 * The rewritten hook: an HTTP GET keeps its other fields but calls the agent's path and port (HTTPS
 * becomes HTTP); a TCP hook becomes an HTTP GET on the agent.
 */
function rewriteHook(handler: Json, path: string): Json {
  const out: Json = {};
  for (const k of Object.keys(handler)) {
    if (k === "tcpSocket") continue;
    if (k === "httpGet" && isObject(handler.httpGet)) {
      const httpGet = withProps(handler.httpGet, { path, port: ProxyPort.AgentStatus });
      if (httpGet.scheme === "HTTPS") httpGet.scheme = "HTTP";
      setOwn(out, k, httpGet);
    } else setOwn(out, k, handler[k]);
  }
  if (!Object.hasOwn(handler, "httpGet")) out.httpGet = { path, port: ProxyPort.AgentStatus };
  return out;
}

/**
 * The rewritten probe, as Istio writes it: an HTTP probe keeps everything but gets the agent's path
 * and port (HTTPS becomes HTTP: the agent makes the HTTPS call); a TCP or gRPC probe becomes an HTTP
 * GET on the agent. Timing settings are kept.
 */
function rewrite(probe: Json, path: string): Json {
  let httpGet: Json;
  if (isObject(probe.httpGet)) {
    httpGet = withProps(probe.httpGet, { path, port: ProxyPort.AgentStatus });
    if (httpGet.scheme === "HTTPS") httpGet.scheme = "HTTP";
  } else {
    httpGet = { path, port: ProxyPort.AgentStatus };
  }
  // The probe without tcpSocket and grpc, its httpGet replaced (or added last). Every key is set
  // once, in a new object: see rewriteAppProbes on stores into the parsed pod's objects.
  const out: Json = {};
  for (const k of Object.keys(probe)) {
    if (k !== "tcpSocket" && k !== "grpc") setOwn(out, k, k === "httpGet" ? httpGet : probe[k]);
  }
  if (!Object.hasOwn(probe, "httpGet")) out.httpGet = httpGet;
  return out;
}

/** The rewritten probe fields of one container (some of readinessProbe, livenessProbe, startupProbe). */
export type ProbeFields = Readonly<Record<string, unknown>>;

export interface RewrittenProbes {
  /**
   * Container name → its rewritten probe fields, for the containers with any; every field is one
   * the container has. The containers themselves are not copied: the patch is built from the
   * probes alone (build-patch.ts), and the paths that need whole containers call withProbes.
   */
  readonly probes: ReadonlyMap<string, ProbeFields>;
  /** ISTIO_KUBE_APP_PROBERS: agent path → original prober, keys sorted; null when empty. */
  readonly probers: string | null;
}

export function rewriteAppProbes(containers: readonly Container[]): RewrittenProbes {
  // Agent path and prober text, sorted by path at the end (probersText).
  const probers: Array<[string, string]> = [];
  const probes = new Map<string, ProbeFields>();
  for (const c of containers) {
    let rewritten: Json | undefined;
    for (const [field, suffix] of KINDS) {
      const probe = c[field];
      if (!isObject(probe)) continue;
      const prober = proberText(probe, c);
      if (prober === null) continue;
      const path = `/app-health/${c.name}/${suffix}`;
      probers.push([path, prober]);
      rewritten ??= {};
      rewritten[field] = rewrite(probe, path);
    }
    const lifecycle = c.lifecycle;
    if (isObject(lifecycle)) {
      let hooks: Json | undefined;
      for (const [hook, suffix] of HOOKS) {
        const handler = lifecycle[hook];
        if (!isObject(handler)) continue;
        const prober = hookProberText(handler, c);
        if (prober === null) continue;
        const path = `/app-lifecycle/${c.name}/${suffix}`;
        probers.push([path, prober]);
        hooks ??= withProps(lifecycle, {});
        hooks[hook] = rewriteHook(handler, path);
      }
      if (hooks !== undefined) {
        rewritten ??= {};
        rewritten.lifecycle = hooks;
      }
    }
    if (rewritten !== undefined) probes.set(c.name, rewritten);
  }
  return { probes, probers: probers.length === 0 ? null : probersText(probers) };
}

/**
 * The containers with their rewritten probes: a new object for each container that has any, the
 * same object for the others. withProps builds the copy, where `{ ...c }` and then the probes
 * replaced would share the parsed container's hidden class: a store into it changes the type V8
 * records for that field, which deoptimizes every function that reads containers (see
 * review-bytes.ts).
 */
export function withProbes(containers: readonly Container[], probes: ReadonlyMap<string, ProbeFields> | undefined): Container[] {
  if (probes === undefined || probes.size === 0) return [...containers];
  return containers.map((c) => {
    const fields = probes.get(c.name);
    return fields === undefined ? c : withProps(c, fields);
  });
}

/**
 * The text of the path → prober object, keys sorted, as JSON.stringify writes it. A later entry
 * for the same path wins, as it would in an object (container names are unique, so none does).
 */
function probersText(entries: Array<[string, string]>): string {
  // A stable sort by path (as the default sort orders strings): of entries with one path, the last
  // is kept.
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let text = "{";
  for (let i = 0; i < entries.length; i++) {
    const [path, prober] = entries[i] as [string, string];
    if (i + 1 < entries.length && (entries[i + 1] as [string, string])[0] === path) continue;
    text += `${text === "{" ? "" : ","}${quote(path)}:${prober}`;
  }
  return `${text}}`;
}
