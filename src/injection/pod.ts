/**
 * Wire-JSON Pod types (only the fields the injector reads; everything else is carried untouched)
 * and the shape check that runs before any rule reads them.
 */
import { ContainerName } from "../config/config.js";
import { InvalidPodError } from "../errors.js";
import { isObject } from "../json-values.js";
import { remember } from "../memo.js";
import {
  DNS1123_LABEL_FORM,
  LABEL_VALUE_FORM,
  QUALIFIED_NAME_FORM,
  isDns1123Label,
  isLabelValue,
  isQualifiedName,
  quoteForMessage,
} from "../validation/formats.js";

export type StringMap = Record<string, string>;

export interface ContainerPort {
  containerPort?: number;
  name?: string;
  protocol?: string;
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  [key: string]: unknown;
}

export interface Volume {
  name: string;
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  controller?: boolean;
  [key: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: StringMap;
  annotations?: StringMap;
  ownerReferences?: OwnerReference[];
  managedFields?: unknown;
  [key: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  hostNetwork?: boolean;
  imagePullSecrets?: Array<{ name?: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: PodSpec;
  [key: string]: unknown;
}


/**
 * What stands in for a value the admission route cut out of a review's bytes before parsing it
 * (`metadata.managedFields`, the last-applied annotation's value): a string no real pod carries.
 * The pipeline reads a managedFields holding it as absent.
 */
export const ELIDED = "\u0000elided by sidecar-injector";

/**
 * Nesting limit for the pod (managedFields aside). A real pod nests about 15 levels; deeper input
 * is refused with a path before anything could walk it recursively.
 */
export const MAX_POD_DEPTH = 64;

type SkipKey = (parent: object, key: string) => boolean;
const noSkip: SkipKey = () => false;

/** Children of a JSON container, minus skipped keys. */
function childrenOf(value: object, skip: SkipKey): Array<[string, unknown]> {
  if (Array.isArray(value)) return value.map((v, i) => [`[${i}]`, v]);
  return Object.keys(value)
    .filter((k) => !skip(value, k))
    .map((k) => [k, (value as Record<string, unknown>)[k]]);
}

/**
 * Whether anything is nested deeper than `max`. Recursive, but it never descends below `max`
 * levels, so the stack stays bounded whatever the input; allocates nothing.
 */
function isTooDeep(value: unknown, max: number, skip: SkipKey, depth = 0): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (depth >= max) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (isTooDeep(value[i], max, skip, depth + 1)) return true;
    return false;
  }
  for (const k in value) {
    if (!Object.hasOwn(value, k) || skip(value, k)) continue;
    if (isTooDeep((value as Record<string, unknown>)[k], max, skip, depth + 1)) return true;
  }
  return false;
}

/**
 * The path of the first value nested deeper than `max`, or null. Iterative, so safe on any input;
 * paths are built only in the rare case that something is too deep.
 */
export function findTooDeep(root: unknown, max: number, skip: SkipKey = noSkip): string | null {
  if (!isTooDeep(root, max, skip)) return null;
  const stack: Array<[unknown, number, string]> = [[root, 0, ""]];
  while (stack.length > 0) {
    const [value, depth, path] = stack.pop() as [unknown, number, string];
    if (typeof value !== "object" || value === null) continue;
    if (depth >= max) return path || "object";
    for (const [key, child] of childrenOf(value, skip)) {
      stack.push([child, depth + 1, key.startsWith("[") ? `${path}${key}` : path ? `${path}.${key}` : key]);
    }
  }
  return null;
}

function checkStringMap(v: unknown, path: string, problems: string[]): void {
  if (v === undefined || v === null) return;
  if (!isObject(v)) {
    problems.push(`${path} must be a map of strings`);
    return;
  }
  for (const key of Object.keys(v)) {
    if (typeof v[key] !== "string") {
      problems.push(`${path}[${JSON.stringify(key)}] must be a string`);
    }
  }
}

/**
 * Label and annotation keys found valid, kept: the pods of a cluster carry the same few hundred
 * keys, and a pod with 200 annotations had each key matched against two regular expressions on
 * every review. Bounded (keys come from pods); an invalid key is never kept.
 */
const QUALIFIED_KEYS_KEPT = 4096;
const qualifiedKeys = new Map<string, true>();

function qualifiedKey(key: string): boolean {
  return qualifiedKeys.has(key) || (isQualifiedName(key) && remember(qualifiedKeys, key, true, QUALIFIED_KEYS_KEPT));
}

/**
 * Keys (and, for labels, values) as Kubernetes' own validation requires them: what we read and
 * copy (into the status annotation, kubectl.kubernetes.io/default-container, canonical labels)
 * stays within the API server's limits. Only maps of strings get here.
 */
function checkMetadataKeys(map: unknown, path: string, checkValues: boolean, problems: string[]): void {
  if (!isObject(map)) return;
  for (const key of Object.keys(map)) {
    if (!qualifiedKey(key)) problems.push(`${path}[${quoteForMessage(key)}]: the key must be ${QUALIFIED_NAME_FORM}`);
    const value = map[key];
    if (checkValues && typeof value === "string" && !isLabelValue(value)) {
      problems.push(`${path}[${quoteForMessage(key)}]: the value ${quoteForMessage(value)} must be ${LABEL_VALUE_FORM}`);
    }
  }
}

function checkNamedList(v: unknown, path: string, required: boolean, problems: string[]): void {
  if (v === undefined || v === null) {
    if (required) problems.push(`${path} must be a non-empty list of objects`);
    return;
  }
  if (!Array.isArray(v) || (required && v.length === 0)) {
    problems.push(`${path} must be a ${required ? "non-empty " : ""}list of objects`);
    return;
  }
  v.forEach((item, i) => {
    if (!isObject(item)) problems.push(`${path}[${i}] must be an object`);
    else if (typeof item.name !== "string" || item.name === "") problems.push(`${path}[${i}].name must be a non-empty string`);
    else if (!isDns1123Label(item.name)) problems.push(`${path}[${i}].name ${quoteForMessage(item.name)} must be ${DNS1123_LABEL_FORM}`);
  });
}

/**
 * Assert that the fields the injector reads have the right shape; lists every problem by path.
 * Null labels/annotations/lists are accepted (they mean "none").
 */
export function assertPodShape(obj: unknown): asserts obj is Pod {
  const problems: string[] = [];
  if (!isObject(obj)) throw new InvalidPodError(["object must be a Pod object"]);
  const meta = obj.metadata;
  if (meta !== undefined && meta !== null && !isObject(meta)) problems.push("metadata must be an object");
  if (isObject(meta)) {
    for (const key of ["name", "generateName", "namespace"] as const) {
      if (meta[key] !== undefined && meta[key] !== null && typeof meta[key] !== "string") {
        problems.push(`metadata.${key} must be a string`);
      }
    }
    checkStringMap(meta.labels, "metadata.labels", problems);
    checkStringMap(meta.annotations, "metadata.annotations", problems);
    checkMetadataKeys(meta.labels, "metadata.labels", true, problems);
    checkMetadataKeys(meta.annotations, "metadata.annotations", false, problems);
    if (meta.ownerReferences !== undefined && meta.ownerReferences !== null) {
      if (!Array.isArray(meta.ownerReferences) || !meta.ownerReferences.every(isObject)) {
        problems.push("metadata.ownerReferences must be a list of objects");
      }
    }
  }
  const spec = obj.spec;
  if (!isObject(spec)) {
    problems.push("spec must be an object");
  } else {
    checkNamedList(spec.containers, "spec.containers", true, problems);
    checkNamedList(spec.initContainers, "spec.initContainers", false, problems);
    checkNamedList(spec.volumes, "spec.volumes", false, problems);
    if (spec.hostNetwork !== undefined && spec.hostNetwork !== null && typeof spec.hostNetwork !== "boolean") {
      problems.push("spec.hostNetwork must be a boolean");
    }
    if (spec.imagePullSecrets !== undefined && spec.imagePullSecrets !== null) {
      if (!Array.isArray(spec.imagePullSecrets) || !spec.imagePullSecrets.every(isObject)) {
        problems.push("spec.imagePullSecrets must be a list of objects");
      }
    }
    if (Array.isArray(spec.containers)) {
      spec.containers.forEach((c, i) => {
        if (isObject(c) && c.ports !== undefined && c.ports !== null) {
          if (!Array.isArray(c.ports) || !c.ports.every(isObject)) {
            problems.push(`spec.containers[${i}].ports must be a list of objects`);
          }
        }
      });
    }
  }
  if (problems.length > 0) throw new InvalidPodError(problems);
  // Refuse absurd nesting (iteratively) in what injection walks recursively, so nothing later can
  // overflow the stack on it; the rest of the pod is carried untouched and never walked.
  const deep = tooDeepInRead(obj as Pod);
  if (deep !== null) throw new InvalidPodError([`${deep} nests deeper than ${MAX_POD_DEPTH} levels`]);
}

/** The container fields injection reads and serializes (ports into the proxy's env, probes rewritten). */
const WALKED_CONTAINER_FIELDS = ["ports", "readinessProbe", "livenessProbe", "startupProbe"] as const;

/** The path of a value nested deeper than MAX_POD_DEPTH in `value`, which sits `depth` levels down at `path`. */
function tooDeepUnder(value: unknown, path: string, depth: number): string | null {
  const inner = findTooDeep(value, MAX_POD_DEPTH - depth);
  if (inner === null) return null;
  return inner === "object" ? path : inner.startsWith("[") ? `${path}${inner}` : `${path}.${inner}`;
}

/**
 * Depth check of what injection walks: the containers' ports and probes, and a user-declared
 * istio-proxy (merged and recorded whole). Containers sit 3 levels down (spec.containers[i]).
 */
function tooDeepInRead(pod: Pod): string | null {
  for (const list of ["containers", "initContainers"] as const) {
    const containers = pod.spec[list] ?? [];
    for (let i = 0; i < containers.length; i++) {
      const c = containers[i] as Container;
      const at = `spec.${list}[${i}]`;
      if (c.name === ContainerName.Proxy) {
        const deep = tooDeepUnder(c, at, 3);
        if (deep !== null) return deep;
        continue;
      }
      for (const field of WALKED_CONTAINER_FIELDS) {
        const deep = tooDeepUnder(c[field], `${at}.${field}`, 4);
        if (deep !== null) return deep;
      }
    }
  }
  return null;
}

/**
 * Depth check of the whole pod (managedFields aside), for the paths that walk all of it: the
 * general patch diff, the preview's patched copy and YAML diff. Throws InvalidPodError naming
 * where.
 */
export function assertNotTooDeep(pod: unknown): void {
  const meta = isObject(pod) ? pod.metadata : undefined;
  const deep = findTooDeep(pod, MAX_POD_DEPTH, (parent, key) => parent === meta && key === "managedFields");
  if (deep !== null) throw new InvalidPodError([`${deep} nests deeper than ${MAX_POD_DEPTH} levels`]);
}

/** Own-property lookup in a string map (safe for keys like "__proto__"). */
export function lookup(map: StringMap | undefined | null, key: string): string | undefined {
  if (map === undefined || map === null || !Object.hasOwn(map, key)) return undefined;
  return map[key];
}

/** The name to show for a pod in logs and messages: its name, else its generateName, else "<unnamed>". */
export function podDisplayName(pod: { metadata?: ObjectMeta | null } | undefined): string {
  const meta = pod?.metadata;
  if (meta && typeof meta.name === "string" && meta.name !== "") return meta.name;
  if (meta && typeof meta.generateName === "string" && meta.generateName !== "") return meta.generateName;
  return "<unnamed>";
}
