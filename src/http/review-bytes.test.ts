import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { HttpError, parseJsonText } from "./body.js";
import { ELIDED } from "../injection/pod.js";
import { parseReviewBytes } from "./review-bytes.js";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** A review around `metadata` (whatever shape), with a container so the pod is a pod. */
function review(metadata: Record<string, unknown>, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: { uid: "u-1", operation: "CREATE", object: { apiVersion: "v1", kind: "Pod", metadata, spec: { containers: [{ name: "app", image: "app:1" }], ...spec } } },
  };
}

const managedFields = [
  { manager: "kubectl", operation: "Update", fieldsV1: { "f:metadata": { "f:annotations": { [`f:${LAST_APPLIED}`]: {} } }, "f:spec": { 'k:{"name":"app"}': { ".": {} } } } },
  { manager: "tricky ] } [ {", operation: "Update", fieldsV1: { 'k:{"x":"\\"]}"}': {} } },
];
const lastApplied = JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", annotations: { note: 'quote " backslash \\ bracket ] brace }' } } });

/** The plain parse with managedFields' and/or the annotation's value elided (each key stays). */
function cutOf(value: Record<string, unknown>, fields = true, annotation = true): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as { request: { object: { metadata: Record<string, unknown> & { annotations?: Record<string, string> } } } };
  const meta = copy.request.object.metadata;
  if (fields && meta.managedFields !== undefined) meta.managedFields = ELIDED;
  if (annotation && meta.annotations?.[LAST_APPLIED] !== undefined) meta.annotations[LAST_APPLIED] = ELIDED;
  return copy;
}
/** What the parser must return: the plain parse, managedFields' and the annotation's values elided. */
const expectedOf = (value: Record<string, unknown>) => cutOf(value);

const bytes = (value: unknown, indent?: number) => Buffer.from(JSON.stringify(value, null, indent));

describe("parseReviewBytes: the fields never read are cut before parsing", () => {
  it.each<[string, Record<string, unknown>, number | undefined]>([
    ["both fields, compact", review({ name: "p", annotations: { a: "1", [LAST_APPLIED]: lastApplied }, managedFields }), undefined],
    ["both fields, indented", review({ name: "p", annotations: { a: "1", [LAST_APPLIED]: lastApplied }, managedFields }), 2],
    ["managedFields before the annotations", review({ managedFields, name: "p", annotations: { [LAST_APPLIED]: lastApplied, b: "2" } }), undefined],
    ["only managedFields", review({ name: "p", managedFields }), undefined],
    ["only the annotation", review({ name: "p", annotations: { [LAST_APPLIED]: lastApplied } }), undefined],
    ["multi-byte text around and inside", review({ name: "p", labels: { team: "café" }, annotations: { note: "日本語 ✓", [LAST_APPLIED]: `${lastApplied}😀` }, managedFields }), undefined],
    ["an empty managedFields and an empty annotation", review({ name: "p", annotations: { [LAST_APPLIED]: "" }, managedFields: [] }), undefined],
    // Over the 256 KiB put together in one buffer: the kept pieces are joined instead.
    ["a review of more than 256 KiB kept", review({ name: "p", labels: { team: "café" }, annotations: { big: "é".repeat(150_000), [LAST_APPLIED]: lastApplied }, managedFields }), undefined],
  ])("%s", (_name, value, indent) => {
    expect(parseReviewBytes(bytes(value, indent))).toEqual(expectedOf(value));
  });
});

describe("parseReviewBytes: anything unusual is parsed whole", () => {
  it.each<[string, string]>([
    ["no field to cut", JSON.stringify(review({ name: "p", annotations: { a: "1" } }))],
    // The first "managedFields": is a nodeSelector key with a string value: nothing is cut.
    ["the key first seen elsewhere, with a string value", JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u", object: { spec: { nodeSelector: { managedFields: "x" } }, metadata: { name: "p", managedFields } } } })],
    // The first match is an array elsewhere: the marker is not at metadata.managedFields.
    ["the key first seen elsewhere, with an array value", JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", extra: { managedFields: [1, 2] }, request: { uid: "u", object: { metadata: { name: "p", managedFields } } } })],
    // JSON.parse keeps the last of duplicate keys: the first (cut) one loses, the last is kept whole.
    ["a duplicated annotation key", JSON.stringify(review({ name: "p", annotations: { [LAST_APPLIED]: lastApplied } })).replace(`"${LAST_APPLIED}":`, `"${LAST_APPLIED}":"first","${LAST_APPLIED}":`)],
    // The keys are looked for before the pod's spec only (the API server writes metadata first).
    ["the pod's spec before its metadata", JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u", object: { spec: { containers: [{ name: "app" }] }, metadata: { name: "p", managedFields } } } })],
    ["a review whose object is not an object", JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u", object: "managedFields" }, managedFields: [] })],
  ])("%s", (_name, text) => {
    expect(parseReviewBytes(Buffer.from(text))).toEqual(JSON.parse(text));
  });

  it.each<[string, string]>([
    ["truncated inside managedFields", JSON.stringify(review({ name: "p", managedFields })).slice(0, 160)],
    ["truncated inside the annotation", JSON.stringify(review({ name: "p", annotations: { [LAST_APPLIED]: lastApplied } })).slice(0, 150)],
    ["invalid after the cut", `${JSON.stringify(review({ name: "p", managedFields })).slice(0, -1)},}`],
    ["not JSON at all", '"managedFields":[] nonsense'],
  ])("%s: the error is the plain parse's", (_name, text) => {
    let plain: unknown;
    try {
      parseJsonText(text);
    } catch (err) {
      plain = err;
    }
    expect(plain).toBeInstanceOf(HttpError);
    expect(() => parseReviewBytes(Buffer.from(text))).toThrow((plain as Error).message);
  });
});

describe("parseReviewBytes: any metadata", () => {
  // Strings full of the characters the byte scan must get right; keys that may collide with ours.
  const text = fc.string({ unit: fc.constantFrom('"', "\\", "[", "]", "{", "}", ":", ",", " ", "a", "é", "😀", "managedFields", LAST_APPLIED), maxLength: 30 });
  const value = fc.jsonValue({ maxDepth: 3 });
  const occurrences = (body: Buffer, key: string) => body.toString().split(`"${key}":`).length - 1;
  it("equals the plain parse, minus what is cut", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.oneof(text, fc.constant(LAST_APPLIED)), text, { maxKeys: 5 }),
        fc.option(fc.array(fc.oneof(value, fc.dictionary(text, value, { maxKeys: 3 })), { maxLength: 4 })),
        fc.dictionary(fc.oneof(text, fc.constant("managedFields")), value, { maxKeys: 3 }),
        fc.boolean(),
        fc.boolean(),
        (annotations, fields, extra, spacing, extraFirst) => {
          const meta: Record<string, unknown> = { name: "p", annotations, ...(fields !== null && { managedFields: fields }) };
          const v = extraFirst ? { extra, ...review(meta) } : { ...review(meta), extra };
          const body = bytes(v, spacing ? 1 : undefined);
          const plain = JSON.parse(body.toString()) as Record<string, unknown>;
          const got = parseReviewBytes(body) as typeof plain;
          if (occurrences(body, "managedFields") === (fields === null ? 0 : 1) && occurrences(body, LAST_APPLIED) === (LAST_APPLIED in annotations ? 1 : 0)) {
            // Each key where it belongs, or nowhere: cut exactly.
            expect(got).toEqual(expectedOf(plain));
          } else {
            // A key also seen elsewhere (a map key, a crafted string): each field cut or kept whole.
            const allowed = [cutOf(plain), cutOf(plain, true, false), cutOf(plain, false, true), plain].map((x) => JSON.stringify(x));
            expect(allowed).toContain(JSON.stringify(got));
          }
          expect((got as { request: { object: { metadata: Record<string, unknown> } } }).request.object.metadata.name).toBe("p");
        },
      ),
      { numRuns: 500 },
    );
  });
});
