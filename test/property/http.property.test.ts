/**
 * Whatever JSON arrives as the object of a well-formed review, the answer is HTTP 200 with an
 * AdmissionReview carrying the request's uid — never a crash, never a 500 page.
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import request from "supertest";
import { isQualifiedName } from "../../src/validation/formats.js";
import { aPod, reviewFor, testApp } from "../support/builders.js";

const app = testApp();

// Pod-ish values: a real pod with random values grafted in at the places the injector reads.
const json = fc.jsonValue({ maxDepth: 4 });
const podish = fc.record({
  metadata: fc.oneof(json, fc.record({ labels: json, annotations: json, name: json, ownerReferences: json }, { requiredKeys: [] })),
  spec: fc.oneof(json, fc.record({ containers: json, initContainers: json, volumes: json, hostNetwork: json }, { requiredKeys: [] })),
});

describe("the admission endpoint under arbitrary objects", () => {
  it("always answers 200 with the uid", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(podish, json.filter((v) => typeof v === "object" && v !== null && !Array.isArray(v))), fc.uuid(), async (object, uid) => {
        const res = await request(app).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(object, { uid })));
        expect(res.status).toBe(200);
        expect(res.body.response.uid).toBe(uid);
        if (res.body.response.allowed === false) expect([400, 422]).toContain(res.body.response.status.code);
      }),
      { numRuns: 200 },
    );
  });

  it("keeps a valid pod's answer when random annotations are added; keys Kubernetes would refuse are refused with 400", async () => {
    const key = fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^([a-z]{1,5}\.[a-z]{2,3}\/)?[a-z][a-z0-9-]{0,10}[a-z]$/));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, fc.string({ maxLength: 40 }), { maxKeys: 6 }), async (annotations) => {
        const res = await request(app).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(aPod({ annotations }))));
        expect(res.status).toBe(200);
        const r = res.body.response;
        if (Object.keys(annotations).every(isQualifiedName)) {
          expect(r.allowed === true || r.status.code === 422).toBe(true);
        } else {
          expect(r.allowed).toBe(false);
          expect(r.status.code).toBe(400);
          expect(r.status.message).toContain("metadata.annotations[");
        }
      }),
      { numRuns: 150 },
    );
  });
});
