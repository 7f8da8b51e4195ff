/**
 * Offline validation of Kubernetes objects against the API's OpenAPI schemas, with npm packages
 * only: kubernetes-models' compiled validators (types, formats, required fields), plus a strict
 * unknown-field check like `kubectl apply --validate=strict`, walked with the field lists of
 * @kubernetes/client-node's generated models (the OpenAPI schemas leave extra fields open).
 * Custom resources (the Prometheus Operator's) are checked against their CRD schemas.
 */
import * as k8s from "@kubernetes/client-node";
import type { K8sObject } from "./kustomize.js";

type ModelClass = { getAttributeTypeMap(): Array<{ baseName: string; type: string }> };
type Validatable = { validate(): void };

function modelClass(name: string): ModelClass | undefined {
  const c = (k8s as unknown as Record<string, unknown>)[name] as Partial<ModelClass> | undefined;
  return typeof c?.getAttributeTypeMap === "function" ? (c as ModelClass) : undefined;
}

function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  if (type.startsWith("Array<")) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, type.slice(6, -1), `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === "object") for (const [k, v] of Object.entries(value)) unknownFields(v, map[1] ?? "any", `${path}[${k}]`, out);
    return;
  }
  const cls = modelClass(type);
  if (!cls || typeof value !== "object" || Array.isArray(value)) return;
  const attrs = cls.getAttributeTypeMap();
  for (const [key, v] of Object.entries(value)) {
    const attr = attrs.find((a) => a.baseName === key);
    if (!attr) out.push(`${path ? `${path}.` : ""}${key}: unknown field`);
    else unknownFields(v, attr.type, path ? `${path}.${key}` : key, out);
  }
}

/** Every problem with the object, each naming its path ([] when valid). */
/** API groups served by custom resources, and the package with the validators of their CRD schemas. */
const CRD_MODELS: Readonly<Record<string, string>> = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

export async function validateObject(o: K8sObject): Promise<string[]> {
  const [group, version] = o.apiVersion.includes("/") ? (o.apiVersion.split("/") as [string, string]) : ["", o.apiVersion];
  const crdPackage = CRD_MODELS[group];
  const modulePath = crdPackage ? `${crdPackage}/${group}/${version}` : group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
  let module: Record<string, new (data: unknown) => Validatable>;
  try {
    module = (await import(modulePath)) as Record<string, new (data: unknown) => Validatable>;
  } catch {
    return [`${o.apiVersion} is not a known API version`];
  }
  const Model = module[o.kind];
  if (!Model) return [`${o.kind} is not a kind of ${o.apiVersion}`];
  const problems: string[] = [];
  try {
    new Model(o).validate();
  } catch (err) {
    problems.push(...(err as Error).message.split(/,\s*(?=data)/).map((m) => m.trim()));
  }
  // A custom resource is checked against its CRD's schema only: the API server prunes fields
  // a structural CRD schema does not name, and client-node has no field lists for them.
  if (crdPackage) return problems;
  const typeName = `${version.charAt(0).toUpperCase()}${version.slice(1)}${o.kind}`;
  if (!modelClass(typeName)) problems.push(`no field list for ${typeName}`);
  else unknownFields(o, typeName, "", problems);
  return problems;
}
