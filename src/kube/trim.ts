/**
 * What the reports (audit, explain) keep of each cluster object, cut down as each page or watch
 * event arrives, so their memory grows with the fields they read, not with whole objects. A
 * typical pod of a Deployment is about 5 KB of JSON, most of it managedFields, env, probes,
 * volume sources and status; the audit reads of it only:
 *
 * - metadata: name, namespace, labels, annotations (but kubectl's last-applied copy of the
 *   object), ownerReferences, deletionTimestamp;
 * - spec: hostNetwork, each container's and init container's name, image, restartPolicy and
 *   added capabilities, the volumes' names;
 * - status: phase.
 *
 * That holds for a pod a controller owns: it is judged through its workload's template, which is
 * kept whole. A pod without a controller (a bare pod) is judged by its own spec, so only its
 * managedFields, last-applied copy and status (but phase) go. Workloads keep their spec (their pod
 * template) and, of their status, only what `rollout` reads to tell whether a rollout is under way
 * (`kubectl rollout status`'s fields: observedGeneration, the replica counts, the revisions, the
 * Progressing condition). Webhook configurations and namespaces keep all but managedFields.
 * test/kube/trim.test.ts checks that the audit and explain reports of trimmed objects are those of
 * the whole objects.
 */

import { isObject } from "../json-values.js";

type Json = Record<string, unknown>;

/** kubectl apply's copy of the whole object: as large as the object, and never read. */
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

function trimMetadata(m: unknown): Json {
  if (!isObject(m)) return {};
  const out: Json = {};
  for (const key of ["name", "namespace", "uid", "labels", "ownerReferences", "deletionTimestamp", "generation"]) {
    if (m[key] !== undefined) out[key] = m[key];
  }
  if (isObject(m.annotations)) {
    const annotations: Json = {};
    for (const [k, v] of Object.entries(m.annotations)) if (k !== LAST_APPLIED_ANNOTATION) annotations[k] = v;
    out.annotations = annotations;
  }
  return out;
}

function trimContainer(c: unknown): Json {
  if (!isObject(c)) return {};
  const out: Json = {};
  if (c.name !== undefined) out.name = c.name;
  if (c.image !== undefined) out.image = c.image;
  if (c.restartPolicy !== undefined) out.restartPolicy = c.restartPolicy;
  const capabilities = isObject(c.securityContext) ? c.securityContext.capabilities : undefined;
  if (isObject(capabilities) && capabilities.add !== undefined) out.securityContext = { capabilities: { add: capabilities.add } };
  return out;
}

function hasController(metadata: unknown): boolean {
  return isObject(metadata) && Array.isArray(metadata.ownerReferences) && metadata.ownerReferences.some((r) => isObject(r) && r.controller === true);
}

function trimPod(o: Json): Json {
  const spec = isObject(o.spec) ? o.spec : {};
  const phase = isObject(o.status) ? o.status.phase : undefined;
  const out: Json = { kind: "Pod", metadata: trimMetadata(o.metadata), ...(phase !== undefined && { status: { phase } }) };
  if (!hasController(o.metadata)) {
    out.spec = spec;
    return out;
  }
  const kept: Json = {};
  if (spec.hostNetwork !== undefined) kept.hostNetwork = spec.hostNetwork;
  if (Array.isArray(spec.containers)) kept.containers = spec.containers.map(trimContainer);
  if (Array.isArray(spec.initContainers)) kept.initContainers = spec.initContainers.map(trimContainer);
  if (Array.isArray(spec.volumes)) kept.volumes = spec.volumes.map((v) => (isObject(v) && v.name !== undefined ? { name: v.name } : {}));
  out.spec = kept;
  return out;
}

/** The status fields of each workload kind that `kubectl rollout status` (and `rollout`) reads. */
const ROLLOUT_STATUS_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ["observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"],
  StatefulSet: ["observedGeneration", "replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas", "currentRevision", "updateRevision"],
  DaemonSet: ["observedGeneration", "desiredNumberScheduled", "currentNumberScheduled", "updatedNumberScheduled", "numberReady", "numberAvailable", "numberUnavailable"],
};

function trimRolloutStatus(kind: string, status: Json): Json {
  const out: Json = {};
  for (const f of ROLLOUT_STATUS_FIELDS[kind] ?? []) if (status[f] !== undefined) out[f] = status[f];
  if (Array.isArray(status.conditions)) {
    const progressing = status.conditions.filter((c) => isObject(c) && c.type === "Progressing");
    if (progressing.length > 0) out.conditions = progressing.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message }));
  }
  return out;
}

/**
 * The part of a listed or watched object the reports read (see the module comment), with its kind
 * set (list items come without one). Returns a new object; the input is not changed.
 */
export function trimForReports(kind: string, o: Json): Json {
  if (kind === "Pod") return trimPod(o);
  const { metadata, status, ...rest } = o;
  const out: Json = { ...rest, kind, metadata: trimMetadata(metadata) };
  if (Object.hasOwn(ROLLOUT_STATUS_FIELDS, kind) && isObject(status)) out.status = trimRolloutStatus(kind, status);
  if (kind === "MutatingWebhookConfiguration" || kind === "Namespace") {
    const m = isObject(metadata) ? metadata : {};
    const { managedFields: _managed, ...whole } = m;
    out.metadata = whole;
  }
  return out;
}
