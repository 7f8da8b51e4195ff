import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "@jest/globals";
import { type KeyPair, generateCA } from "./certificates.js";
import { countCertificateMarkers, encodePem, normalizePem, readCertificates, readPemBlocks, splitPemLeniently } from "./pem.js";

let a: KeyPair;
let b: KeyPair;
/** The base64 body of a's certificate on one line, and a's and b's certificates without their final line break. */
let bodyA: string;
let A: string;
let B: string;

beforeAll(async () => {
  const now = new Date("2026-11-25T12:00:00Z");
  a = await generateCA({ commonName: "A", days: 30, now });
  b = await generateCA({ commonName: "B", days: 30, now });
  bodyA = new X509Certificate(a.cert).raw.toString("base64");
  A = a.cert.trimEnd();
  B = b.cert.trimEnd();
});

const fp = (pem: string) => new X509Certificate(pem).fingerprint256;

describe("readCertificates follows Go's encoding/pem and AppendCertsFromPEM", () => {
  // Each case: a bundle and the certificates (by name) that Go's reader finds in it. The rules are
  // those of encoding/pem.Decode (Go 1.19 to 1.24 alike); the Go-reader suite checks the same texts with Go itself.
  it.each<[string, () => string, string[]]>([
    ["one block, line break at the end", () => `${A}\n`, ["A"]],
    ["one block, no line break at the end", () => A, ["A"]],
    ["two blocks, each on its own lines", () => `${A}\n${B}\n`, ["A", "B"]],
    ["two blocks glued END-----BEGIN: none", () => `${A}${B}`, []],
    ["a blank line and comments between blocks", () => `# ours\n${A}\n\nsome text\n${B}\n`, ["A", "B"]],
    ["CRLF line breaks", () => `${A}\n${B}\n`.replace(/\n/g, "\r\n"), ["A", "B"]],
    ["spaces and tabs after the END line", () => `${A} \t\n${B}`, ["A", "B"]],
    ["text after the END line on its line: that block is lost", () => `${A} x\n${B}\n`, ["B"]],
    ["BEGIN not at the start of a line", () => ` ${A}\n${B}\n`, ["B"]],
    ["the body on one line", () => `-----BEGIN CERTIFICATE-----\n${bodyA}\n-----END CERTIFICATE-----\n`, ["A"]],
    ["spaces inside the body are ignored", () => `-----BEGIN CERTIFICATE-----\n${bodyA.slice(0, 10)} \t${bodyA.slice(10)}\n-----END CERTIFICATE-----\n`, ["A"]],
    ["padding missing: not base64 to Go", () => `-----BEGIN CERTIFICATE-----\n${bodyA.replace(/=+$/, "")}x\n-----END CERTIFICATE-----\n${B}`, ["B"]],
    ["the END type differs", () => `${A.replace("END CERTIFICATE", "END CERT")}\n${B}\n`, ["B"]],
    ["another block type is skipped", () => `${a.key}${B}\n`, ["B"]],
    ["a block with headers is skipped", () => `${A.replace("-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n")}\n${B}\n`, ["B"]],
    ["a certificate with bytes after its DER is skipped", () => `${encodePem("CERTIFICATE", Buffer.concat([Buffer.from(bodyA, "base64"), Buffer.from([0])]))}${B}\n`, ["B"]],
    ["a block whose DER is not a certificate is skipped", () => `-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n${B}\n`, ["B"]],
    ["an empty text", () => "", []],
    ["a BEGIN line without its dashes", () => `-----BEGIN CERTIFICATE\n${A}\n`, ["A"]],
    ["no END line at all", () => `-----BEGIN CERTIFICATE-----\n${bodyA}\n`, []],
  ])("%s", (_name, text, expected) => {
    const names = new Map([
      [fp(a.cert), "A"],
      [fp(b.cert), "B"],
    ]);
    expect(readCertificates(text()).map((pem) => names.get(fp(pem)))).toEqual(expected);
  });

  it("keeps the type and headers of every block it reads", () => {
    const blocks = readPemBlocks(`${a.key}${A.replace("-----\n", "-----\nX-Note: hi\n\n")}\n`);
    expect(blocks.map((bl) => [bl.type, bl.headers])).toEqual([
      ["PRIVATE KEY", {}],
      ["CERTIFICATE", { "X-Note": "hi" }],
    ]);
  });
});

describe("what we write", () => {
  it("encodePem: 64-column lines, each block ending with a line break", () => {
    const pem = encodePem("CERTIFICATE", Buffer.from(bodyA, "base64"));
    const lines = pem.split("\n");
    expect(lines[0]).toBe("-----BEGIN CERTIFICATE-----");
    expect(lines.at(-2)).toBe("-----END CERTIFICATE-----");
    expect(lines.at(-1)).toBe("");
    expect(lines.slice(1, -2).every((l) => l.length <= 64 && l.length > 0)).toBe(true);
    expect(readCertificates(pem + pem)).toHaveLength(2);
  });

  it("normalizePem repairs glued blocks and keeps keys", () => {
    expect(readCertificates(normalizePem(`${A}${B}`)).map(fp)).toEqual([fp(a.cert), fp(b.cert)]);
    expect(normalizePem(a.key)).toBe(a.key);
    expect(() => normalizePem("garbage")).toThrow("no PEM block found");
    expect(() => normalizePem("-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----")).toThrow("not valid base64");
  });

  it("generated certificates and keys are already in our form", () => {
    for (const pem of [a.cert, a.key]) {
      expect(pem.endsWith("-----\n")).toBe(true);
      expect(normalizePem(pem)).toBe(pem);
    }
  });

  it("splitPemLeniently and countCertificateMarkers see glued blocks", () => {
    expect(splitPemLeniently(`${A}${B}`).map(fp)).toEqual([fp(a.cert), fp(b.cert)]);
    expect(countCertificateMarkers(`${A}${B}`)).toBe(2);
  });
});
