/**
 * Our strict PEM reader (src/tls/pem.ts) against Go's own, the one kube-apiserver reads caBundles
 * with: the same texts through both must give the same certificates. Needs Go (.ci/run installs
 * it); says it skipped without.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { type KeyPair, generateCA } from "../../src/tls/certificates.js";
import { countCertificateMarkers, readCertificates } from "../../src/tls/pem.js";
import { decodeBundle, encodeBundle, fingerprintOf } from "../../src/tls/rotation.js";
import { type ApiServerClient, startApiServerClient } from "../support/apiserver-client.js";
import { hasGo, sayGoSkipped } from "../support/go.js";

if (!hasGo) sayGoSkipped("test/tls/go-pem", "go is not installed");
const suite = hasGo ? describe : describe.skip;

let go: ApiServerClient | undefined;
const cas: KeyPair[] = [];

beforeAll(async () => {
  if (!hasGo) return;
  go = startApiServerClient();
  const now = new Date();
  for (const name of ["A", "B", "C"]) cas.push(await generateCA({ commonName: name, days: 30, now }));
}, 120_000);

afterAll(async () => go?.close());

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const goReads = async (text: string) => (await (go as ApiServerClient).readBundle(b64(text))).certs;

suite("Go's AppendCertsFromPEM and our reader agree", () => {
  it("on bundles we write, with one, two and three CAs", async () => {
    for (let n = 1; n <= 3; n++) {
      const bundle = encodeBundle(cas.slice(0, n).map((c) => c.cert));
      const certs = (await (go as ApiServerClient).readBundle(bundle)).certs;
      expect(certs).toEqual(cas.slice(0, n).map((c) => fingerprintOf(c.cert)));
      expect(decodeBundle(bundle).map(fingerprintOf)).toEqual(certs);
    }
  });

  it("on the bundle an older version published mid-rotation (blocks glued): Go reads none", async () => {
    const glued = cas
      .slice(0, 2)
      .map((c) => c.cert.trimEnd())
      .join("");
    expect(await goReads(glued)).toEqual([]);
    expect(readCertificates(glued)).toEqual([]);
    expect(countCertificateMarkers(glued)).toBe(2);
  });

  it("on 400 generated texts: blocks joined by all sorts of separators, rewrapped, with stray text and broken blocks", async () => {
    const separators = ["", "\n", "\r\n", "\n\n", " ", "\t", " \n", "\t\r\n", "x", "x\n", "# note\n", "-----", "\n-----END CERTIFICATE-----\n"];
    const block = fc.record({
      ca: fc.integer({ min: 0, max: 2 }),
      width: fc.constantFrom(64, 76, 40, 10_000),
      lineBreak: fc.constantFrom("\n", "\r\n"),
      damage: fc.constantFrom("none", "none", "none", "type", "padding", "header", "indent", "space-in-body", "no-end"),
    });
    const text = fc.record({ blocks: fc.array(fc.tuple(block, fc.constantFrom(...separators)), { minLength: 1, maxLength: 4 }), lead: fc.constantFrom(...separators) });
    const render = (b: { ca: number; width: number; lineBreak: string; damage: string }) => {
      const der = Buffer.from(
        (cas[b.ca] as KeyPair).cert
          .replace(/-----[^-]+-----/g, "")
          .replace(/\s+/g, ""),
        "base64",
      ).toString("base64");
      let body = der.match(new RegExp(`.{1,${b.width}}`, "g"))?.join(b.lineBreak) ?? "";
      if (b.damage === "padding") body = body.replace(/=+$/, "") + "A";
      if (b.damage === "space-in-body") body = `${body.slice(0, 7)} ${body.slice(7)}`;
      const header = b.damage === "header" ? `Proc-Type: 4,ENCRYPTED${b.lineBreak}${b.lineBreak}` : "";
      const type = b.damage === "type" ? "CERT" : "CERTIFICATE";
      const end = b.damage === "no-end" ? "" : `${b.lineBreak}-----END ${type}-----`;
      return `${b.damage === "indent" ? " " : ""}-----BEGIN CERTIFICATE-----${b.lineBreak}${header}${body}${end}`;
    };
    const texts = fc.sample(text, { numRuns: 400, seed: 1130 }).map((t) => t.lead + t.blocks.map(([b, sep]) => render(b) + sep).join(""));
    const answers = await Promise.all(texts.map((t) => goReads(t)));
    let someRead = 0;
    let someLost = 0;
    texts.forEach((t, i) => {
      const ours = readCertificates(t).map(fingerprintOf);
      expect({ text: t, certs: ours }).toEqual({ text: t, certs: answers[i] });
      if (ours.length > 0) someRead++;
      if (ours.length < countCertificateMarkers(t)) someLost++;
    });
    // The generator reaches both sides of the rules.
    expect(someRead).toBeGreaterThan(100);
    expect(someLost).toBeGreaterThan(100);
  }, 60_000);
});
