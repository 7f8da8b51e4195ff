import { describe, expect, it } from "@jest/globals";
import { aPod, reviewFor } from "../../test/support/builders.js";
import { BadRequestError } from "../errors.js";
import { parseAdmissionReview, toReview } from "./review.js";

describe("parseAdmissionReview", () => {
  it.each(["admission.k8s.io/v1", "admission.k8s.io/v1beta1"])("accepts %s", (apiVersion) => {
    const parsed = parseAdmissionReview(reviewFor(aPod(), { apiVersion, uid: "u", namespace: "ns" }));
    expect(parsed.apiVersion).toBe(apiVersion);
    expect(parsed.request).toMatchObject({ uid: "u", namespace: "ns", operation: "CREATE", dryRun: false });
    expect(parsed.request.kind).toEqual({ group: "", version: "v1", kind: "Pod" });
  });

  const base = reviewFor(aPod());
  const req = base.request as Record<string, unknown>;
  it.each([
    ["null", null, "body must be a JSON object"],
    ["a string", "x", "body must be a JSON object"],
    ["wrong kind", { ...base, kind: "Pod" }, "kind must be AdmissionReview"],
    ["wrong apiVersion", { ...base, apiVersion: "v1" }, "apiVersion must be one of"],
    ["no request", { apiVersion: base.apiVersion, kind: base.kind }, "request must be an object"],
    ["no uid", { ...base, request: { ...req, uid: undefined } }, "request.uid must be a non-empty string"],
    ["bad operation", { ...base, request: { ...req, operation: "PATCH" } }, "request.operation must be one of"],
    ["kind not an object", { ...base, request: { ...req, kind: "Pod" } }, "request.kind must be an object"],
    ["resource field not a string", { ...base, request: { ...req, resource: { resource: 1 } } }, "request.resource.resource must be a string"],
    ["object missing on CREATE", { ...base, request: { ...req, object: null } }, "request.object must be an object"],
    ["namespace not a string", { ...base, request: { ...req, namespace: 3 } }, "request.namespace must be a string"],
    ["dryRun not a boolean", { ...base, request: { ...req, dryRun: "yes" } }, "request.dryRun must be a boolean"],
  ])("rejects %s", (_name, body, message) => {
    expect(() => parseAdmissionReview(body)).toThrow(BadRequestError);
    expect(() => parseAdmissionReview(body)).toThrow(message);
  });

  it("lists several problems at once", () => {
    expect(() => parseAdmissionReview({ ...base, kind: "X", request: { ...req, uid: "" } })).toThrow(
      /kind must be AdmissionReview.*request.uid must be a non-empty string/,
    );
  });

  it("keeps subResource and name", () => {
    const parsed = parseAdmissionReview({ ...base, request: { ...req, subResource: "status", name: "web-0" } });
    expect(parsed.request).toMatchObject({ subResource: "status", name: "web-0" });
  });

  it("wraps a response in the request's version", () => {
    expect(toReview("admission.k8s.io/v1beta1", { uid: "u", allowed: true })).toEqual({
      apiVersion: "admission.k8s.io/v1beta1",
      kind: "AdmissionReview",
      response: { uid: "u", allowed: true },
    });
  });
});

describe("reviewText", () => {
  it("is the review's JSON with the patch spliced in", async () => {
    const { reviewText } = await import("../http/admission-route.js");
    const review = toReview("admission.k8s.io/v1", { uid: "u", allowed: true, patchType: "JSONPatch", patch: "W10=", warnings: ['say "hi"'] });
    expect(JSON.parse(reviewText(review))).toEqual(review);
    const plain = toReview("admission.k8s.io/v1", { uid: "u", allowed: false, status: { code: 400, message: "x" } });
    expect(reviewText(plain)).toBe(JSON.stringify(plain));
  });
});
