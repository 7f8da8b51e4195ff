/**
 * The Prometheus merge, as Istio 1.30 does it: every injected pod is scraped through the agent
 * (port 15020, path /stats/prometheus), which merges the app's metrics with Envoy's. Only a scrape
 * annotation that reads as false keeps a pod out. The app's own scrape settings move to the proxy
 * env ISTIO_PROMETHEUS_ANNOTATIONS, where the agent finds them.
 *
 * Prometheus reads annotation keys after replacing every character outside [a-zA-Z0-9_] with "_",
 * so `prometheus.io/scrape`, `prometheus.io.scrape` and `prometheus-io/scrape` are one setting:
 * every spelling is read, and every spelling is cleared before the agent's values are set.
 */
import { Annotation, ProxyPort } from "../config/config.js";
import type { StringMap } from "./pod.js";

/** The path the agent serves merged metrics on. */
const MERGED_METRICS_PATH = "/stats/prometheus";

/** The proxy env that carries the app's own scrape settings to the agent. */
export const PROMETHEUS_ENV = "ISTIO_PROMETHEUS_ANNOTATIONS";

type Field = "scrape" | "path" | "port";

/** Prometheus' label-name sanitizing, which decides which keys it treats as the same. */
export function sanitizeLabelName(key: string): string {
  return key.replace(/[^a-zA-Z0-9_]/g, "_");
}

// A Map, not an object literal: annotation keys such as "toString" must not find a prototype member.
const FIELD_OF: ReadonlyMap<string, Field> = new Map([
  [sanitizeLabelName(Annotation.PrometheusScrape), "scrape"],
  [sanitizeLabelName(Annotation.PrometheusPath), "path"],
  [sanitizeLabelName(Annotation.PrometheusPort), "port"],
]);

/**
 * The field a key sets, in any spelling. Sanitizing keeps a key's length and its letters, so only
 * a key of one of those lengths that starts with "prometheus" can match: the others (most of a
 * pod's annotations) are not sanitized at all.
 */
const FIELD_KEY_LENGTHS = new Set([...FIELD_OF.keys()].map((k) => k.length));
function fieldOf(key: string): Field | undefined {
  if (!FIELD_KEY_LENGTHS.has(key.length) || !key.startsWith("prometheus")) return undefined;
  return FIELD_OF.get(sanitizeLabelName(key));
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** Go's strconv.ParseBool: true, false, or undefined when the text is neither. */
export function parseGoBool(text: string): boolean | undefined {
  if (GO_TRUE.has(text)) return true;
  if (GO_FALSE.has(text)) return false;
  return undefined;
}

export interface PrometheusMerge {
  /** Every annotation key, in any spelling, that the merge replaces. */
  readonly clear: readonly string[];
  /** The agent's scrape annotations. */
  readonly set: StringMap;
  /** The app's own settings for the agent (all three fields, "" when unset), or null when it had none. */
  readonly env: string | null;
}

/**
 * What the merge does to a pod with these annotations, or null when it leaves the pod alone: the
 * merge is off, a scrape annotation reads as false, or the port already points at the agent (the
 * pod was injected before).
 */
export function prometheusMerge(annotations: StringMap | undefined, enabled: boolean): PrometheusMerge | null {
  if (!enabled) return null;
  const found: Record<Field, string> = { scrape: "", path: "", port: "" };
  const clear: string[] = [];
  let scrape: boolean | undefined;
  let port: string | undefined;
  for (const key of Object.keys(annotations ?? {})) {
    const field = fieldOf(key);
    if (field === undefined) continue;
    const value = (annotations as StringMap)[key] as string;
    clear.push(key);
    found[field] = value;
    if (field === "scrape" && scrape === undefined) scrape = parseGoBool(value);
    if (field === "port" && port === undefined) port = value;
  }
  if (scrape === false) return null;
  const agentPort = String(ProxyPort.AgentStatus);
  if (port === agentPort) return null;
  const declared = found.scrape !== "" || found.path !== "" || found.port !== "";
  return {
    clear,
    set: {
      [Annotation.PrometheusPort]: agentPort,
      [Annotation.PrometheusPath]: MERGED_METRICS_PATH,
      [Annotation.PrometheusScrape]: "true",
    },
    env: declared ? JSON.stringify({ scrape: found.scrape, path: found.path, port: found.port }) : null,
  };
}
