/**
 * Render a kustomization the way `kubectl kustomize` does, for the subset manifests/ uses:
 * `resources` (files and kustomization folders), `images` (newName/newTag/digest on pod
 * templates' containers) and `patches` given as inline JSON 6902 operations with a target. Any
 * other field is refused, so the renderer cannot silently differ from kustomize; where kubectl is
 * installed, the tests also compare the two outputs object by object.
 */
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import fastJsonPatch from "fast-json-patch";
import { parseAllDocuments, parse as parseYaml } from "yaml";

export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "components", "images", "patches"]);

interface Image {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

interface Patch {
  target: { group?: string; version?: string; kind?: string; name?: string; namespace?: string };
  patch: string;
}

export function readYamlObjects(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, "utf8"))
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${path}: ${d.errors[0]?.message}`);
      return d.toJSON() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/**
 * Render a kustomization folder. A Component (kind: Component) is rendered onto the objects of
 * the kustomization that includes it: its resources are added, then its patches apply to all.
 */
export function renderKustomization(dir: string, into: K8sObject[] | null = null): K8sObject[] {
  const root = resolve(dir);
  const k = parseYaml(readFileSync(join(root, "kustomization.yaml"), "utf8")) as Record<string, unknown>;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0) throw new Error(`${root}/kustomization.yaml: not supported by the test renderer: ${unsupported.join(", ")}`);
  const isComponent = k.kind === "Component";
  if (isComponent !== (into !== null)) throw new Error(`${root}: a Component must be listed under components, and only a Component`);
  let objects: K8sObject[] = into ?? [];
  for (const entry of (k.resources as string[] | undefined) ?? []) {
    const path = join(root, entry);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readYamlObjects(path)));
  }
  for (const entry of (k.components as string[] | undefined) ?? []) objects = renderKustomization(join(root, entry), objects);
  const seen = new Set<string>();
  for (const o of objects) {
    const id = objectId(o);
    if (seen.has(id)) throw new Error(`${root}: ${id} is defined twice`);
    seen.add(id);
  }
  for (const p of (k.patches as Patch[] | undefined) ?? []) {
    if (typeof p.patch !== "string" || !p.target) throw new Error(`${root}: only inline patches with a target are supported`);
    const ops = parseYaml(p.patch) as fastJsonPatch.Operation[];
    if (!Array.isArray(ops)) throw new Error(`${root}: only JSON 6902 patches (a list of operations) are supported`);
    const matched = objects.filter((o) => matches(o, p.target));
    if (matched.length === 0) throw new Error(`${root}: patch target ${JSON.stringify(p.target)} matches nothing`);
    objects = objects.map((o) => (matched.includes(o) ? (fastJsonPatch.applyPatch(structuredClone(o), ops, true, false).newDocument as K8sObject) : o));
  }
  for (const image of (k.images as Image[] | undefined) ?? []) objects = objects.map((o) => setImage(o, image));
  return objects;
}

export function objectId(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

function matches(o: K8sObject, t: Patch["target"]): boolean {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  return (
    (t.group === undefined || t.group === group) &&
    (t.version === undefined || t.version === version) &&
    (t.kind === undefined || t.kind === o.kind) &&
    (t.name === undefined || t.name === o.metadata.name) &&
    (t.namespace === undefined || t.namespace === o.metadata.namespace)
  );
}

/** The pod spec of a Pod or of a workload's template (the places kustomize's images transformer visits). */
export function podSpecOf(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const spec = o.spec as Record<string, unknown> | undefined;
  if (o.kind === "Pod") return spec;
  if (o.kind === "CronJob") {
    const job = (spec?.jobTemplate as { spec?: { template?: { spec?: Record<string, unknown> } } } | undefined)?.spec;
    return job?.template?.spec;
  }
  return (spec?.template as { spec?: Record<string, unknown> } | undefined)?.spec;
}

function setImage(o: K8sObject, image: Image): K8sObject {
  const podSpec = podSpecOf(o);
  if (!podSpec) return o;
  const out = structuredClone(o);
  const spec = podSpecOf(out) as Record<string, unknown>;
  for (const key of ["containers", "initContainers"]) {
    for (const c of (spec[key] as Array<{ image?: string }> | undefined) ?? []) {
      if (c.image === undefined) continue;
      const m = /^(.*?)(?::([^:/@]+))?(?:@(.+))?$/.exec(c.image);
      if (!m || m[1] !== image.name) continue;
      const name = image.newName ?? image.name;
      if (image.digest) c.image = `${name}@${image.digest}`;
      else if (image.newTag) c.image = `${name}:${image.newTag}`;
      else c.image = `${name}${m[2] ? `:${m[2]}` : ""}${m[3] ? `@${m[3]}` : ""}`;
    }
  }
  return out;
}
