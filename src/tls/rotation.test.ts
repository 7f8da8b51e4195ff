import { beforeAll, describe, expect, it } from "@jest/globals";
import { type KeyPair, generateCA, generateServingCert } from "./certificates.js";
import { type CertState, type PlanInput, type Step, decodeBundle, decodeBundleLeniently, encodeBundle, fingerprintOf, inspectBundle, issuerAmong, planCertificates } from "./rotation.js";

const DAY = 86_400_000;
const now = new Date("2026-11-25T12:00:00Z");
const names = ["injector", "injector.mesh", "injector.mesh.svc", "injector.mesh.svc.cluster.local"];
let caA: KeyPair;
let caB: KeyPair;
let caOld: KeyPair; // 10-year CA with 1 year left
let servingA: KeyPair;
let servingB: KeyPair;
let servingAOld: KeyPair; // 7-day certificate with 1 day left
let servingFromOld: KeyPair; // from caOld, 7 days left
let servingFromOldDue: KeyPair; // from caOld, 1 day left
let servingFromOldHalf: KeyPair; // from caOld, 3 days left
let servingAWrongNames: KeyPair;

beforeAll(async () => {
  caA = await generateCA({ commonName: "A", days: 3650, now });
  caB = await generateCA({ commonName: "B", days: 3650, now });
  caOld = await generateCA({ commonName: "old", days: 365, now });
  servingA = await generateServingCert({ ca: caA, names, days: 7, now });
  servingB = await generateServingCert({ ca: caB, names, days: 7, now });
  servingAOld = await generateServingCert({ ca: caA, names, days: 1, now });
  servingFromOld = await generateServingCert({ ca: caOld, names, days: 7, now });
  servingFromOldDue = await generateServingCert({ ca: caOld, names, days: 1, now });
  servingFromOldHalf = await generateServingCert({ ca: caOld, names, days: 3, now });
  servingAWrongNames = await generateServingCert({ ca: caA, names: ["other"], days: 7, now });
});

const state = (ca: KeyPair | null, serving: KeyPair | null, previous: KeyPair[] = []): CertState => ({
  ...(ca && { caCert: ca.cert, caKey: ca.key }),
  ...(serving && { cert: serving.cert, key: serving.key }),
  previousCas: previous.map((p) => p.cert),
});
const bundleOf = (...cas: KeyPair[]) => encodeBundle(cas.map((c) => c.cert));
const hooks = (bundle: string | undefined) => [{ name: "a.mesh", caBundle: bundle }, { name: "b.mesh", caBundle: bundle }];
const plan = (over: Partial<PlanInput>): Step =>
  planCertificates({ secret: null, webhooks: null, replicas: [], names, now, caValidityMs: 3650 * DAY, certValidityMs: 7 * DAY, ...over });

describe("planCertificates", () => {
  it("starts from nothing with a new CA", () => {
    expect(plan({ secret: null })).toEqual({ kind: "issue-ca", reason: "there is no certificate Secret", keepTrusted: [] });
  });

  it("when the Secret is lost, keeps trusting what the live bundle trusts (replicas still serve it)", () => {
    const step = plan({ secret: null, webhooks: hooks(bundleOf(caA)) });
    expect(step.kind).toBe("issue-ca");
    expect(step.kind === "issue-ca" && step.keepTrusted.map(fingerprintOf)).toEqual([fingerprintOf(caA.cert)]);
  });

  it.each<[string, () => Partial<PlanInput>, () => Partial<Step>]>([
    ["an empty Secret", () => ({ secret: state(null, null) }), () => ({ kind: "issue-ca", reason: "the Secret holds no CA" })],
    ["a CA whose key is another's", () => ({ secret: { ...state(caA, null), caKey: caB.key } }), () => ({ kind: "issue-ca", reason: "the Secret's CA key does not match its certificate" })],
    ["a CA with a tenth of its life left", () => ({ secret: state(caOld, null) }), () => ({ kind: "issue-ca" })],
    ["a CA with a tenth of its life left and a good serving certificate", () => ({ secret: state(caOld, servingFromOld), webhooks: hooks(bundleOf(caOld)) }), () => ({ kind: "issue-ca" })],
    // The rotation serves the current certificate until the new CA has settled: it must not expire meanwhile.
    ["a CA and its serving certificate both due: the certificate is renewed first", () => ({ secret: state(caOld, servingFromOldDue), webhooks: hooks(bundleOf(caOld)) }), () => ({ kind: "issue-serving", reason: expect.stringMatching(/less than half of its life left\); renewed before the CA rotation$/) })],
    // A certificate not yet due for itself (3 of 7 days left) would have to outlive the whole rotation.
    ["a CA due while the serving certificate has less than half its life left: the certificate is renewed first", () => ({ secret: state(caOld, servingFromOldHalf), webhooks: hooks(bundleOf(caOld)) }), () => ({ kind: "issue-serving", reason: expect.stringMatching(/renewed before the CA rotation$/) })],
    ["a broken CA is replaced at once, whatever the serving certificate", () => ({ secret: { ...state(caOld, servingFromOldDue), caKey: caB.key } }), () => ({ kind: "issue-ca" })],
    ["a bundle that differs on one webhook", () => ({ secret: state(caA, servingA), webhooks: [{ name: "a.mesh", caBundle: bundleOf(caA) }, { name: "b.mesh", caBundle: undefined }] }), () => ({ kind: "patch-bundle", bundle: bundleOf(caA), webhooks: ["b.mesh"] })],
    ["a bundle reset by a GitOps sync", () => ({ secret: state(caA, servingA), webhooks: hooks("") }), () => ({ kind: "patch-bundle", webhooks: ["a.mesh", "b.mesh"] })],
    ["no serving certificate yet", () => ({ secret: state(caA, null), webhooks: hooks(bundleOf(caA)) }), () => ({ kind: "issue-serving", reason: "the Secret holds no serving certificate" })],
    ["a serving certificate with a seventh of its life left", () => ({ secret: state(caA, servingAOld), webhooks: hooks(bundleOf(caA)) }), () => ({ kind: "issue-serving" })],
    ["a serving certificate for other names", () => ({ secret: state(caA, servingAWrongNames), webhooks: hooks(bundleOf(caA)) }), () => ({ kind: "issue-serving" })],
    ["a serving certificate from the previous CA, once both are trusted", () => ({ secret: state(caB, servingA, [caA]), webhooks: hooks(bundleOf(caB, caA)) }), () => ({ kind: "issue-serving", reason: "the certificate is not signed by the CA" })],
    ["the new CA not yet in the bundle: the bundle comes first", () => ({ secret: state(caB, servingA, [caA]), webhooks: hooks(bundleOf(caA)) }), () => ({ kind: "patch-bundle", bundle: bundleOf(caB, caA) })],
    ["a replica still serving from the previous CA", () => ({ secret: state(caB, servingB, [caA]), webhooks: hooks(bundleOf(caB, caA)), replicas: [{ identity: "r1", servingCa: fingerprintOf(caB.cert) }, { identity: "r2", servingCa: fingerprintOf(caA.cert) }] }), () => ({ kind: "wait", reason: "replicas still serving from a previous CA: r2" })],
    ["replicas unknown during a rotation", () => ({ secret: state(caB, servingB, [caA]), webhooks: hooks(bundleOf(caB, caA)), replicas: null }), () => ({ kind: "wait" })],
    ["every replica on the new CA (one not serving yet)", () => ({ secret: state(caB, servingB, [caA]), webhooks: hooks(bundleOf(caB, caA)), replicas: [{ identity: "r1", servingCa: fingerprintOf(caB.cert) }, { identity: "r2", servingCa: "" }] }), () => ({ kind: "drop-previous" })],
    ["after the drop, the bundle loses the old CA", () => ({ secret: state(caB, servingB), webhooks: hooks(bundleOf(caB, caA)) }), () => ({ kind: "patch-bundle", bundle: bundleOf(caB) })],
    ["all in order", () => ({ secret: state(caA, servingA), webhooks: hooks(bundleOf(caA)) }), () => ({ kind: "none" })],
    ["all in order without a webhook configuration to patch", () => ({ secret: state(caA, servingA), webhooks: null }), () => ({ kind: "none" })],
  ])("%s", (_name, input, expected) => {
    expect(plan(input())).toMatchObject(expected());
  });
});

describe("bundle helpers", () => {
  it("encodes a bundle with each block on its own lines and decodes it as the API server does", () => {
    const text = Buffer.from(bundleOf(caA, caB), "base64").toString("utf8");
    expect(text).toMatch(/-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----/);
    expect(text.endsWith("-----END CERTIFICATE-----\n")).toBe(true);
    expect(decodeBundle(bundleOf(caA, caB)).map(fingerprintOf)).toEqual([fingerprintOf(caA.cert), fingerprintOf(caB.cert)]);
    expect(decodeBundle(undefined)).toEqual([]);
  });

  it("a bundle an older version glued together: the API server reads none of it, the leader keeps trusting both", () => {
    const glued = (pem: string) => pem.trimEnd();
    const base64 = Buffer.from(`${glued(caA.cert)}${glued(caB.cert)}`).toString("base64");
    expect(inspectBundle(base64)).toEqual({ cas: [], unreadable: 2 });
    expect(decodeBundleLeniently(base64).map(fingerprintOf)).toEqual([fingerprintOf(caA.cert), fingerprintOf(caB.cert)]);
    // The leader re-patches it: the bundle it wants differs from the live one.
    const step = plan({ secret: state(caB, servingB, [caA]), webhooks: hooks(base64) });
    expect(step).toEqual({ kind: "patch-bundle", bundle: bundleOf(caB, caA), webhooks: ["a.mesh", "b.mesh"] });
  });

  it("a CA rotation's bundle keeps a glued live bundle's CAs trusted when the Secret is lost", () => {
    const base64 = Buffer.from(`${caA.cert.trimEnd()}${caB.cert.trimEnd()}`).toString("base64");
    const step = plan({ secret: null, webhooks: hooks(base64) });
    expect(step.kind === "issue-ca" && step.keepTrusted.map(fingerprintOf)).toEqual([fingerprintOf(caA.cert), fingerprintOf(caB.cert)]);
  });

  it("finds the issuing CA among several", () => {
    expect(issuerAmong(servingB.cert, [caA.cert, caB.cert])).toBe(fingerprintOf(caB.cert));
    expect(issuerAmong(servingB.cert, [caA.cert])).toBe("");
  });
});
