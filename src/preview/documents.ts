/**
 * Manifests in, pod templates out: parse JSON or YAML (several documents), unwrap Lists and
 * AdmissionReviews, and locate each object's pod template. Problems name the document and path
 * (`documents[2].spec.template: not an object`) and are all reported at once.
 */
import { InvalidInputError } from "../errors.js";
import { POD_TEMPLATE_PATHS } from "../injection/workload.js";
import { isObject } from "../json-values.js";
import { readJsonDocument, readYamlDocuments } from "../validation/yaml-documents.js";

export type InputFormat = "json" | "yaml";

/** One input object, where it came from, and (for supported kinds) where its pod template is. */
export interface InputObject {
  /** `documents[0]`, `documents[1].items[3]`, … */
  readonly where: string;
  readonly object: Record<string, unknown>;
  /** The pod template's path inside the object, or null when the kind has none we inject. */
  readonly templatePath: readonly string[] | null;
  /** The namespace an enclosing AdmissionReview names, if any. */
  readonly reviewNamespace?: string;
}

/** One input document (a List or an AdmissionReview counts as one) and what it holds. */
export interface InputDocument {
  readonly index: number;
  /** The document's source text (YAML input only), to pass untouched documents through as written. */
  readonly source?: string;
  readonly value: unknown;
  readonly objects: readonly InputObject[];
}


/** Parse manifests: JSON (one value) or YAML (one or more documents). */
export function parseManifests(text: string, format: InputFormat): Array<{ value: unknown; source?: string }> {
  // One reader, and its limits, for every input (src/validation/yaml-documents.ts): a refusal
  // names the document and the limit. A YAML document's text is written only when first read.
  if (format === "json") return [{ value: readJsonDocument(text, "documents[0]") }];
  return readYamlDocuments(text);
}

function templateOf(object: Record<string, unknown>, where: string, problems: string[]): readonly string[] | null {
  const kind = object.kind;
  if (typeof kind !== "string") {
    problems.push(`${where}.kind: missing`);
    return null;
  }
  const path = Object.hasOwn(POD_TEMPLATE_PATHS, kind) ? POD_TEMPLATE_PATHS[kind] : undefined;
  if (path === undefined) return null;
  let at: unknown = object;
  const walked: string[] = [];
  for (const key of path) {
    walked.push(key);
    at = isObject(at) ? at[key] : undefined;
    if (!isObject(at)) {
      problems.push(`${where}.${walked.join(".")}: not an object`);
      return null;
    }
  }
  return path;
}

function objectsOf(value: unknown, where: string, problems: string[]): InputObject[] {
  if (!isObject(value)) {
    problems.push(`${where}: not an object`);
    return [];
  }
  if (value.kind === "AdmissionReview") {
    const request = value.request;
    if (!isObject(request) || !isObject(request.object)) {
      problems.push(`${where}.request.object: not an object`);
      return [];
    }
    const ns = typeof request.namespace === "string" && request.namespace !== "" ? request.namespace : undefined;
    const inner = objectsOf(request.object, `${where}.request.object`, problems);
    return ns === undefined ? inner : inner.map((o) => ({ ...o, reviewNamespace: ns }));
  }
  if (typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
    return value.items.flatMap((item, i) => objectsOf(item, `${where}.items[${i}]`, problems));
  }
  return [{ where, object: value, templatePath: templateOf(value, where, problems) }];
}

/** Parse and unwrap; throws InvalidInputError listing every problem. */
export function readDocuments(text: string, format: InputFormat): InputDocument[] {
  const parsed = parseManifests(text, format);
  const problems: string[] = [];
  const docs = parsed.map((p, index): InputDocument => {
    const objects = objectsOf(p.value, `documents[${index}]`, problems);
    // YAML input: the source text stays unwritten until it is read (see parseManifests).
    if (!("source" in p)) return { index, value: p.value, objects };
    return {
      index,
      value: p.value,
      objects,
      get source() {
        return p.source;
      },
    };
  });
  if (problems.length > 0) throw new InvalidInputError(problems);
  if (docs.length === 0) throw new InvalidInputError(["no documents in the input"]);
  return docs;
}
