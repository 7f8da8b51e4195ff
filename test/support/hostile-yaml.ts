/**
 * Hostile documents for the property suites: a valid pod's YAML, mutated the ways a careless or
 * malicious sender mutates it — wrong types, deep nesting, aliases and alias bombs, merge keys and
 * merge chains, odd tags, huge and odd strings, prototype keys, NUL bytes, a BOM with CRLF,
 * duplicate keys, many documents.
 */
import fc from "fast-check";

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels:
    app: web
  annotations:
    team.example/owner: web
spec:
  containers:
    - name: web
      image: nginx:1.27
      ports:
        - containerPort: 80
`;

const nested = (depth: number, open: string, close: string) => `${open.repeat(depth)}1${close.repeat(depth)}`;

/** `levels` levels of `width` aliases each: a few alias nodes that stand for width^levels values. */
export function aliasBomb(levels = 9, width = 9): string {
  const lines = [`l0: &l0 [${Array(width).fill('"x"').join(", ")}]`];
  for (let i = 1; i < levels; i++) lines.push(`l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(", ")}]`);
  return lines.join("\n");
}

/** `<<: *k` chained `depth` deep. */
export function mergeChain(depth = 200): string {
  const lines = ["k0: &k0 {a: 1}"];
  for (let i = 1; i <= depth; i++) lines.push(`k${i}: &k${i}`, `  <<: *k${i - 1}`, `  x${i}: ${i}`);
  return lines.join("\n");
}

/** A value put in place of a field of the pod. */
const oddValue = fc.oneof(
  fc.constantFrom("null", "~", "[]", "{}", "true", "42", "-1e309", '"\\u0000"', "!!binary aGVsbG8=", "!custom {a: 1}", "!!set {a, b}", "*undefined_alias"),
  fc.integer({ min: 1, max: 400 }).map((d) => nested(d, "[", "]")),
  fc.integer({ min: 1, max: 400 }).map((d) => nested(d, "{a: ", "}")),
  fc.integer({ min: 1, max: 200_000 }).map((n) => JSON.stringify("z".repeat(n))),
  fc.string({ maxLength: 30 }).map((s) => JSON.stringify(s)),
);

/** Keys that have meant trouble in JavaScript parsers. */
const oddKey = fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "<<", "?", "\"\\u0000\"", "''");

const fields = ["metadata", "metadata.name", "metadata.labels", "metadata.annotations", "spec", "spec.containers", "spec.containers.0.name", "spec.containers.0.image", "kind"];

function replaceField(pod: string, field: string, value: string): string {
  const key = field.split(".").filter((p) => !/^\d+$/.test(p)).at(-1) as string;
  const re = new RegExp(`^(\\s*(?:- )?${key}:).*$`, "m");
  return re.test(pod) ? pod.replace(re, `$1 ${value.replace(/\$/g, "$$$$")}`) : `${pod}${key}: ${value}\n`;
}

/** One hostile YAML text (one or more documents). */
export const hostileYaml: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(...fields), oddValue).map(([f, v]) => replaceField(POD, f, v)),
  fc.tuple(oddKey, oddValue).map(([k, v]) => `${POD}${k}: ${v}\n`),
  fc.tuple(oddKey, oddValue).map(([k, v]) => POD.replace("  labels:\n", `  labels:\n    ${k}: ${v}\n`)),
  fc.record({ levels: fc.integer({ min: 2, max: 10 }), width: fc.integer({ min: 2, max: 10 }) }).map(({ levels, width }) => `${POD}bomb:\n${aliasBomb(levels, width).replace(/^/gm, "  ")}\n`),
  fc.integer({ min: 1, max: 250 }).map((d) => `${mergeChain(d)}\n`),
  fc.integer({ min: 1, max: 3000 }).map((n) => Array(n).fill(POD).join("---\n")),
  fc.constantFrom(`\uFEFF${POD.replace(/\n/g, "\r\n")}`, `${POD}metadata:\n  name: twice\n`, `${POD}\u0000`, "---\n---\n", "", "[", "{a: 1", "- - - -", `kind: List\nitems: ${nested(300, "[", "]")}\n`),
  fc.string({ maxLength: 200 }),
);
