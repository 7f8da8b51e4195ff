/**
 * The injection patch built by construction. We know what injection changes: labels and
 * annotations, the app containers' probes, the proxy and init containers at known indexes, volumes
 * and image pull secrets. So the operations are built from the rendered sidecar directly, region by
 * region, in the order a diff of the whole pod would list them (the pod's own key order, new keys
 * last). Of the pod's own lists only the names are read; a container's env and everything else
 * the injector does not touch are neither copied nor walked.
 *
 * The result is, operation for operation, createPatch(original, injectPod(...)): the diff stays
 * as the oracle (the property test checks the two agree on generated pods) and as the path for
 * the cases this does not construct (see constructPatch). Values are shared, never copied: the
 * rendered containers carry their JSON text (patch.ts), so encoding the patch splices text.
 */
import { Annotation, ContainerName } from "../config/config.js";
import { isObject, setOwn } from "../json-values.js";
import { remember } from "../memo.js";
import { type Operation, addOperation, diffInto, escapePointer } from "./patch.js";
import { containersWith, initContainersWith } from "./inject.js";
import { pullSecretsWith } from "./pull-secrets.js";
import type { Container, Pod, Volume } from "./pod.js";
import type { ProbeFields } from "./app-probe.js";
import type { RenderedSidecar } from "./render.js";
import { formatStatus } from "./status.js";

/** Whether every item is an object with a name and no two share one (how the diff aligns lists). */
function uniquelyNamed(list: readonly unknown[], taken: Set<string>): boolean {
  for (const item of list) {
    if (!isObject(item) || typeof item.name !== "string" || taken.has(item.name)) return false;
    taken.add(item.name);
  }
  return true;
}

/**
 * Whether the pod is one whose patch is constructed: a first injection (nothing of ours to
 * replace), the proxy template alone (no overlay templates, no pod securityContext), no
 * user-declared istio-proxy, metadata present, and uniquely named containers and volumes that do
 * not clash with ours. Everything else goes through injectPod and the diff.
 */
function constructible(pod: Pod, rendered: RenderedSidecar): boolean {
  if (rendered.overlays.length > 0 || rendered.podSecurityContext !== undefined) return false;
  if (!isObject(pod.metadata)) return false;
  const spec = pod.spec;
  const containers = new Set<string>();
  if (!uniquelyNamed(spec.containers, containers)) return false;
  if (Array.isArray(spec.initContainers) && !uniquelyNamed(spec.initContainers, containers)) return false;
  if (containers.has(ContainerName.Proxy)) return false;
  if (rendered.init !== null && containers.has(rendered.init.name)) return false;
  const volumes = new Set<string>();
  if (Array.isArray(spec.volumes) && !uniquelyNamed(spec.volumes, volumes)) return false;
  return rendered.volumes.every((v) => !volumes.has(v.name));
}

/**
 * Recurring operations, built once with their text (see addOperation) and looked up without
 * building their paths: a string value under a map (our labels and annotations, mostly the same
 * from pod to pod), kept by key with its value; a frozen, template-owned item of a list (a volume,
 * the init container), kept by item and index. Both are bounded: keys and indexes come from pods.
 */
const SHARED_LIMIT = 512;
const labelOpsByKey = new Map<string, Operation>();
const annotationOpsByKey = new Map<string, Operation>();

function addString(known: Map<string, Operation>, base: string, key: string, value: string): Operation {
  const hit = known.get(key);
  if (hit !== undefined && (hit as { value: unknown }).value === value) return hit;
  return remember(known, key, addOperation(`${base}/${escapePointer(key)}`, value), SHARED_LIMIT);
}

interface ItemOps {
  readonly base: string;
  readonly byIndex: Map<number, Operation>;
}

const itemOps = new WeakMap<object, ItemOps>();
/** The index under which itemOps keeps the add of a whole one-item list. */
const WHOLE = -1;

/** An add of `item` at `base`/`index`, or (WHOLE) of the list `[item]` at `base`. */
function addItem(base: string, index: number, item: unknown): Operation {
  let known = isObject(item) ? itemOps.get(item) : undefined;
  if (known === undefined || known.base !== base) {
    if (!isObject(item) || !Object.isFrozen(item)) return { op: "add", path: index === WHOLE ? base : `${base}/${index}`, value: index === WHOLE ? [item] : item };
    known = { base, byIndex: new Map() };
    itemOps.set(item, known);
  }
  const op = known.byIndex.get(index);
  if (op !== undefined) return op;
  const built = index === WHOLE ? addOperation(base, Object.freeze([item])) : addOperation(`${base}/${index}`, item);
  return remember(known.byIndex, index, built, SHARED_LIMIT);
}

/** The labels to add: ours where the pod has none of that key (the diff of a map we only add to). */
function labelOps(before: unknown, rendered: RenderedSidecar, ops: Operation[]): void {
  if (!isObject(before)) {
    ops.push({ op: "add", path: "/metadata/labels", value: { ...rendered.labels } });
    return;
  }
  for (const k of Object.keys(rendered.labels)) {
    if (!Object.hasOwn(before, k)) ops.push(addString(labelOpsByKey, "/metadata/labels", k, rendered.labels[k] as string));
  }
}

/** The annotations injection sets, in the order injectPod sets them (later values win). */
function ourAnnotations(rendered: RenderedSidecar, present: Readonly<Record<string, unknown>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of Object.keys(rendered.annotations)) if (!Object.hasOwn(present, k)) out.set(k, rendered.annotations[k] as string);
  for (const k of Object.keys(rendered.overwriteAnnotations)) out.set(k, rendered.overwriteAnnotations[k] as string);
  out.set(Annotation.Status, formatStatus(rendered.status));
  if (rendered.status.templateHash !== undefined) out.set(Annotation.TemplateHash, rendered.status.templateHash);
  return out;
}

/**
 * The annotation ops. Usually every key we set is new to the pod: one add each, in order. When the
 * pod has keys we remove or set (its Prometheus settings, a revision), the map after injection is
 * built and diffed, as the diff orders removals and keys set again.
 */
function annotationOps(before: unknown, rendered: RenderedSidecar, ops: Operation[]): void {
  if (!isObject(before)) {
    ops.push({ op: "add", path: "/metadata/annotations", value: Object.fromEntries(ourAnnotations(rendered, {})) });
    return;
  }
  const ours = ourAnnotations(rendered, before);
  const touches = rendered.clearAnnotations.some((k) => Object.hasOwn(before, k)) || [...ours.keys()].some((k) => Object.hasOwn(before, k));
  if (!touches) {
    for (const [k, v] of ours) ops.push(addString(annotationOpsByKey, "/metadata/annotations", k, v));
    return;
  }
  // The map after injection, each key set once in a new object (not a spread copy of the parsed
  // map given deletes and stores, see rewriteAppProbes): the pod's keys in place, minus those
  // cleared, with our values; then ours it lacks, in order (a cleared key set again goes last).
  const cleared = new Set(rendered.clearAnnotations);
  const after: Record<string, unknown> = {};
  for (const k of Object.keys(before)) if (!cleared.has(k)) setOwn(after, k, ours.has(k) ? ours.get(k) : before[k]);
  for (const [k, v] of ours) if (!Object.hasOwn(after, k)) setOwn(after, k, v);
  diffInto(before, after, "/metadata/annotations", ops);
}

/** Ops for a list we add items to: the whole list when the pod has none, else one add per new item. */
function listOps(before: unknown, after: readonly unknown[], path: string, ops: Operation[]): void {
  if (!Array.isArray(before)) {
    ops.push(after.length === 1 ? addItem(path, WHOLE, after[0]) : { op: "add", path, value: after });
    return;
  }
  // Our items come after the pod's, or (native sidecars, the validation container) before them.
  for (let i = 0; i < after.length; i++) {
    const item = after[i];
    if (!before.includes(item)) ops.push(addItem(path, i, item));
  }
}

/**
 * The init containers' operations when some of the pod's own have rewritten probes or hooks (native
 * sidecars of the app's): in list order, ours added, theirs diffed field by field where they stand.
 */
function initProbeOps(pod: Pod, init: readonly Container[], probes: ReadonlyMap<string, ProbeFields>, ops: Operation[]): void {
  const own = new Set(pod.spec.initContainers ?? []);
  init.forEach((c, i) => {
    const path = `/spec/initContainers/${i}`;
    if (!own.has(c)) {
      ops.push(addItem("/spec/initContainers", i, c));
      return;
    }
    const fields = probes.get(c.name);
    if (fields === undefined) return;
    for (const key of Object.keys(c)) {
      if (Object.hasOwn(fields, key)) diffInto(c[key], fields[key], `${path}/${key}`, ops);
    }
  });
}

/**
 * The containers' operations: ours added, the app's rewritten probes diffed where they stand. A
 * container with rewritten probes differs from the pod's only in those fields (every one a field it
 * has), so the diff of the whole container is the diff of each of them, in the container's key
 * order; the container is neither copied nor walked.
 */
function containerOps(pod: Pod, rendered: RenderedSidecar, ops: Operation[]): void {
  const own = new Set(pod.spec.containers);
  const probes = rendered.appProbes;
  containersWith(pod.spec.containers, rendered).forEach((c, i) => {
    const path = `/spec/containers/${i}`;
    if (!own.has(c)) {
      ops.push({ op: "add", path, value: c });
      return;
    }
    const fields = probes?.get(c.name);
    if (fields === undefined) return;
    for (const key of Object.keys(c)) {
      if (Object.hasOwn(fields, key)) diffInto(c[key], fields[key], `${path}/${key}`, ops);
    }
  });
}

/**
 * The patch for a first injection of `pod` (managedFields already dropped), or null when the pod
 * is not one this builds (see constructible): the caller then diffs injectPod's result.
 */
export function constructPatch(pod: Pod, rendered: RenderedSidecar): Operation[] | null {
  if (!constructible(pod, rendered)) return null;
  const ops: Operation[] = [];
  const meta = pod.metadata;
  const spec = pod.spec;
  const metaOps = (key: string): void => {
    if (key === "labels") labelOps(meta.labels, rendered, ops);
    else if (key === "annotations") annotationOps(meta.annotations, rendered, ops);
  };
  const init = initContainersWith(spec.initContainers ?? [], spec.initContainers !== undefined, rendered);
  const volumes: readonly Volume[] | undefined = rendered.volumes.length > 0 ? [...(spec.volumes ?? []), ...rendered.volumes] : undefined;
  const secrets = rendered.imagePullSecrets.length > 0 ? pullSecretsWith(spec.imagePullSecrets ?? [], rendered.imagePullSecrets) : undefined;
  const specOps = (key: string): void => {
    if (key === "containers") containerOps(pod, rendered, ops);
    else if (key === "initContainers" && init !== undefined) {
      const probes = rendered.appProbes;
      if (probes !== undefined && Array.isArray(spec.initContainers) && spec.initContainers.some((c) => probes.has(c.name))) initProbeOps(pod, init, probes, ops);
      else listOps(spec.initContainers, init, "/spec/initContainers", ops);
    }
    else if (key === "volumes" && volumes !== undefined) listOps(spec.volumes, volumes, "/spec/volumes", ops);
    else if (key === "imagePullSecrets" && secrets !== undefined) listOps(spec.imagePullSecrets, secrets, "/spec/imagePullSecrets", ops);
  };
  for (const key of Object.keys(pod)) {
    if (key === "metadata") {
      for (const k of Object.keys(meta)) metaOps(k);
      // Maps the pod lacks come after its own keys, labels first (as injectPod sets them).
      if (!Object.hasOwn(meta, "labels")) metaOps("labels");
      if (!Object.hasOwn(meta, "annotations")) metaOps("annotations");
    } else if (key === "spec") {
      for (const k of Object.keys(spec)) specOps(k);
      for (const k of ["initContainers", "volumes", "imagePullSecrets"]) if (!Object.hasOwn(spec, k)) specOps(k);
    }
  }
  return ops;
}
