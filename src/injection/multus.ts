/**
 * Multus (`cni: true`, `cniProvider: multus`): the CNI plugin is not chained to the cluster's own
 * plugin but runs as a Multus network, which a pod asks for in its `k8s.v1.cni.cncf.io/networks`
 * annotation. Injection adds the plugin's network to that annotation, as istiod's template does.
 * The annotation is either a comma-separated list (`net-a, ns/net-b`) or a JSON list of network
 * objects (`[{"name": "net-a"}, {"name": "net-b", "namespace": "ns"}]`); a value with a `]` in it
 * is read as JSON. Pure.
 */
import { Annotation, type Config, MULTUS_ISTIO_CNI_NETWORK } from "../config/config.js";
import { isObject } from "../json-values.js";
import { type StringMap, lookup } from "./pod.js";
import { type Reason, ReasonCode, reason } from "./reasons.js";

export interface MultusNetworks {
  /** The annotation's value after injection. */
  readonly value: string;
  /** Why the pod's value could not be read: it is then left as it is (as istiod leaves it). */
  readonly unreadable?: string;
}

/** A JSON list of network objects (or nulls), or why the text is not one. */
function networkList(text: string): ReadonlyArray<Readonly<Record<string, unknown>> | null> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "not valid JSON";
  }
  if (!Array.isArray(parsed)) return "not a JSON list";
  if (!parsed.every((n) => n === null || isObject(n))) return "not a JSON list of objects";
  return parsed as Array<Record<string, unknown> | null>;
}

/** `namespace/name` as its two parts; a bare name has the namespace "". */
function splitQualified(network: string): { namespace: string; name: string } {
  const at = network.indexOf("/");
  return at < 0 ? { namespace: "", name: network } : { namespace: network.slice(0, at), name: network.slice(at + 1) };
}

/**
 * The networks annotation with `network` added, unless it is already listed: in a JSON list,
 * an object of that name whose namespace (absent: "") matches; in a flat list, the qualified name
 * itself. A JSON list gets a new object before its closing bracket, a flat list `, <network>`.
 * Istio's rule, with one exception: an empty JSON list (`[]`) becomes a list of the one network,
 * where istiod writes `[, {…}]`, which is not JSON.
 */
export function withMultusNetwork(existing: string | undefined, network: string = MULTUS_ISTIO_CNI_NETWORK): MultusNetworks {
  if (existing === undefined || existing === "") return { value: network };
  const close = existing.lastIndexOf("]");
  if (close >= 0) {
    const list = networkList(existing);
    if (typeof list === "string") return { value: existing, unreadable: list };
    const wanted = splitQualified(network);
    if (list.some((n) => n !== null && n.name === wanted.name && (n.namespace ?? "") === wanted.namespace)) return { value: existing };
    const entry = wanted.namespace === "" ? `{"name": ${JSON.stringify(wanted.name)}}` : `{"name": ${JSON.stringify(wanted.name)}, "namespace": ${JSON.stringify(wanted.namespace)}}`;
    return { value: `${existing.slice(0, close)}${list.length === 0 ? "" : ", "}${entry}${existing.slice(close)}` };
  }
  if (existing.split(",").some((n) => n.trim() === network)) return { value: existing };
  return { value: `${existing}, ${network}` };
}

/** Whether injection adds the CNI plugin's Multus network (the sidecar template, CNI mode with Multus). */
export function addsMultusNetwork(config: Pick<Config, "cni" | "cniProvider">): boolean {
  return config.cni && config.cniProvider === "multus";
}

/**
 * The warning for a pod whose networks annotation cannot be read, or null: its value is left as
 * it is, so Multus does not run the CNI plugin for it and its traffic is not captured.
 */
export function multusNetworksWarning(config: Pick<Config, "cni" | "cniProvider">, annotations: StringMap | undefined): Reason | null {
  if (!addsMultusNetwork(config)) return null;
  const problem = withMultusNetwork(lookup(annotations, Annotation.MultusNetworks)).unreadable;
  if (problem === undefined) return null;
  // Short enough for an admission warning (MAX_WARNING_LENGTH).
  return reason(ReasonCode.AnnotationIgnored, `${Annotation.MultusNetworks} is ${problem}: left as is, without ${MULTUS_ISTIO_CNI_NETWORK} (no traffic capture).`);
}
