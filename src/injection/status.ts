/**
 * The `sidecar.istio.io/status` annotation: Istio's record of what was injected, with exactly its
 * keys (an empty list is `null`, as Go writes it). The template hash, which finds stale pods, has
 * an annotation of its own; versions before 0.2 wrote it into the record, where it is still read.
 */
import { Annotation } from "../config/config.js";
import { type StringMap, lookup } from "./pod.js";


export interface SidecarStatus {
  readonly initContainers: readonly string[];
  readonly containers: readonly string[];
  readonly volumes: readonly string[];
  /** Istio writes null when there are none; kept for compatibility with its tooling. */
  readonly imagePullSecrets: readonly string[] | null;
  readonly revision: string;
  /** Hash of the sidecar template (configuration) that produced this injection (not serialized here). */
  readonly templateHash?: string;
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/** Parse the annotation; null when it is not a status record we understand. */
export function parseStatus(text: string | undefined): SidecarStatus | null {
  if (text === undefined || text === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const initContainers = v.initContainers ?? [];
  const containers = v.containers ?? [];
  const volumes = v.volumes ?? [];
  const pullSecrets = v.imagePullSecrets ?? null;
  if (!isStringList(initContainers) || !isStringList(containers) || !isStringList(volumes)) return null;
  if (pullSecrets !== null && !isStringList(pullSecrets)) return null;
  return {
    initContainers,
    containers,
    volumes,
    imagePullSecrets: pullSecrets,
    revision: typeof v.revision === "string" ? v.revision : "",
    ...(typeof v.templateHash === "string" && { templateHash: v.templateHash }),
  };
}

const formatted = new WeakMap<SidecarStatus, string>();

/** Serialize in Istio's field order (cached for frozen, shared records). */
export function formatStatus(status: SidecarStatus): string {
  const cached = formatted.get(status);
  if (cached !== undefined) return cached;
  const text = serializeStatus(status);
  if (Object.isFrozen(status)) formatted.set(status, text);
  return text;
}

const listOrNull = (list: readonly string[] | null): readonly string[] | null => (list === null || list.length === 0 ? null : list);

function serializeStatus(status: SidecarStatus): string {
  return JSON.stringify({
    initContainers: listOrNull(status.initContainers),
    containers: listOrNull(status.containers),
    volumes: listOrNull(status.volumes),
    imagePullSecrets: listOrNull(status.imagePullSecrets),
    revision: status.revision,
  });
}

/**
 * A pod's injection record from its annotations: the status record, with the template hash from
 * its own annotation (or, for pods injected by older versions, from inside the record).
 */
export function readStatus(annotations: StringMap | undefined | null): SidecarStatus | null {
  const status = parseStatus(lookup(annotations, Annotation.Status));
  if (status === null) return null;
  const hash = lookup(annotations, Annotation.TemplateHash);
  return hash === undefined ? status : { ...status, templateHash: hash };
}
