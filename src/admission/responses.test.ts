import { describe, expect, it } from "@jest/globals";
import { InvalidAnnotationError, toInjectorError } from "../errors.js";
import { allowed, complete, errored, patched, withAuditAnnotations, withWarnings } from "./responses.js";

describe("response builders", () => {
  it.each([
    ["allowed", allowed(), { uid: "u", allowed: true }],
    ["patched with no ops has no patch or patchType", patched([]), { uid: "u", allowed: true }],
    [
      "patched",
      patched([{ op: "add", path: "/a", value: 1 }]),
      { uid: "u", allowed: true, patchType: "JSONPatch", patch: Buffer.from('[{"op":"add","path":"/a","value":1}]').toString("base64") },
    ],
    [
      "errored from a typed error",
      errored(new InvalidAnnotationError(["x is bad"])),
      { uid: "u", allowed: false, status: { code: 422, reason: "Invalid", message: "invalid sidecar annotations: x is bad" } },
    ],
    [
      "errored from an unknown error",
      errored(toInjectorError(new TypeError("nope"))),
      { uid: "u", allowed: false, status: { code: 500, reason: "InternalError", message: "internal error: nope" } },
    ],
    ["empty warnings are dropped", withWarnings(allowed(), []), { uid: "u", allowed: true }],
    ["warnings", withWarnings(allowed(), ["w"]), { uid: "u", allowed: true, warnings: ["w"] }],
    ["empty audit annotations are dropped", withAuditAnnotations(allowed(), {}), { uid: "u", allowed: true }],
    ["audit annotations", withAuditAnnotations(allowed(), { decision: "skip" }), { uid: "u", allowed: true, auditAnnotations: { decision: "skip" } }],
  ])("%s", (_name, resp, expected) => {
    expect(complete(resp, { uid: "u" })).toEqual(expected);
  });

  it("complete() takes the uid from the request", () => {
    expect(complete({ allowed: true }, { uid: "from-request" }).uid).toBe("from-request");
  });
});
