/**
 * Catch mistakes at apply time: for a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * ReplicationController, Job, CronJob) on CREATE or UPDATE, run the pod's own checks on its pod
 * template — the same override validators and opt-in/out parsing the injection uses — so
 * `kubectl apply` shows the problem at once instead of the ReplicaSet failing later. Never a patch.
 */
import type { GroupVersionKind, RequestOperation } from "./request.js";
import { Annotation, Label } from "../config/config.js";
import { InjectorError } from "../errors.js";
import { readOverrides } from "./annotations.js";
import { type StringMap, lookup } from "./pod.js";
import { POD_TEMPLATE_PATHS, WORKLOAD_GROUPS } from "./workload.js";
import { isObject } from "../json-values.js";

export interface WorkloadFindings {
  /** `Deployment/web`, for messages. */
  readonly workload: string;
  /** Problems the injection would refuse the pods for (each a sentence naming the annotation). */
  readonly problems: readonly string[];
  /** Things that would not refuse the pods but that the user should know. */
  readonly notes: readonly string[];
}


function stringMap(v: unknown): StringMap | undefined {
  if (!isObject(v)) return undefined;
  const out: StringMap = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === "string") Object.defineProperty(out, k, { value: x, enumerable: true });
  return out;
}

/** Is this request a workload we check? */
export function isWorkloadRequest(kind: GroupVersionKind, operation: RequestOperation, subResource?: string): boolean {
  if (subResource || (operation !== "CREATE" && operation !== "UPDATE")) return false;
  const group = Object.hasOwn(WORKLOAD_GROUPS, kind.kind) ? WORKLOAD_GROUPS[kind.kind] : undefined;
  return group !== undefined && group === kind.group;
}

/** Check a workload's pod template; pure. Returns every problem and note found. */
export function checkWorkload(kind: string, object: unknown, knownTemplates: ReadonlySet<string>): WorkloadFindings {
  const obj = isObject(object) ? object : {};
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  const workload = `${kind}/${typeof meta.name === "string" && meta.name ? meta.name : "<unnamed>"}`;
  const path = POD_TEMPLATE_PATHS[kind] ?? [];
  let template: unknown = obj;
  for (const key of path) template = isObject(template) ? template[key] : undefined;
  if (!isObject(template)) return { workload, problems: [`${path.join(".")} is not an object`], notes: [] };
  const tmeta = isObject(template.metadata) ? template.metadata : {};
  const annotations = stringMap(tmeta.annotations);
  const labels = stringMap(tmeta.labels);

  const problems: string[] = [];
  try {
    readOverrides(annotations, knownTemplates);
  } catch (err) {
    if (!(err instanceof InjectorError)) throw err;
    problems.push(...err.problems);
  }
  const notes: string[] = [];
  for (const [where, value] of [
    ["label", lookup(labels, Label.Inject)],
    ["annotation", lookup(annotations, Annotation.Inject)],
  ] as const) {
    if (value !== undefined && !["true", "false"].includes(value.trim().toLowerCase())) {
      notes.push(`${where} ${Label.Inject}=${JSON.stringify(value)} is not "true" or "false" and will be ignored`);
    }
  }
  return { workload, problems, notes };
}
