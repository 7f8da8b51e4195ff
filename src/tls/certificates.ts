/**
 * Certificate generation (selfsigned: ECDSA P-256, sha256) and inspection (node:crypto X509).
 * Pure apart from key generation; the clock comes in as `now`.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { isIP } from "node:net";
import type { generate as Generate } from "selfsigned";
import { CertificateError } from "../errors.js";
import { normalizePem } from "./pem.js";

export interface KeyPair {
  /** PEM certificate, in our form (pem.ts: each block on its own lines, ending with a line break). */
  readonly cert: string;
  /** PEM private key (PKCS#8), in the same form. */
  readonly key: string;
}

const DAY_MS = 86_400_000;

/** selfsigned is loaded only when a certificate is generated (most starts reuse the files). */
async function generate(...args: Parameters<typeof Generate>): ReturnType<typeof Generate> {
  const selfsigned = await import("selfsigned");
  return selfsigned.generate(...args);
}
/** Backdate notBefore a little so peers with a slightly slow clock accept a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60_000;

export async function generateCA(opts: { commonName: string; days: number; now: Date }): Promise<KeyPair> {
  const pems = await generate([{ name: "commonName", value: opts.commonName }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(opts.now.getTime() - CLOCK_SKEW_MS),
    notAfterDate: new Date(opts.now.getTime() + opts.days * DAY_MS),
    extensions: [
      { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: normalizePem(pems.cert), key: normalizePem(pems.private) };
}

/** A serving certificate for `names` (DNS names and IP addresses), signed by `ca`. */
export async function generateServingCert(opts: {
  ca: KeyPair;
  names: readonly string[];
  days: number;
  now: Date;
}): Promise<KeyPair> {
  const first = opts.names[0];
  if (first === undefined) throw new CertificateError("a serving certificate needs at least one name");
  const altNames = opts.names.map((n) =>
    isIP(n) !== 0 ? { type: 7 as const, ip: n } : { type: 2 as const, value: n },
  );
  const pems = await generate([{ name: "commonName", value: first }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(opts.now.getTime() - CLOCK_SKEW_MS),
    notAfterDate: new Date(opts.now.getTime() + opts.days * DAY_MS),
    ca: opts.ca,
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { cert: normalizePem(pems.cert), key: normalizePem(pems.private) };
}

export interface CertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DNS names and IP addresses from the SAN extension. */
  readonly names: readonly string[];
  readonly fingerprint256: string;
}

function parseSans(san: string | undefined): string[] {
  if (!san) return [];
  return san
    .split(",")
    .map((s) => s.trim())
    .flatMap((s) => {
      if (s.startsWith("DNS:")) return [s.slice(4)];
      if (s.startsWith("IP Address:")) return [s.slice("IP Address:".length)];
      return [];
    });
}

/** Inspect a PEM certificate; throws CertificateError when it is not one. */
export function describeCertificate(pem: string): CertificateInfo {
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
  } catch (err) {
    throw new CertificateError(`not a PEM certificate: ${(err as Error).message}`, err);
  }
  return {
    subject: x.subject,
    issuer: x.issuer,
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    names: parseSans(x.subjectAltName).map(normalizeIp),
    fingerprint256: x.fingerprint256,
  };
}

/** X509 prints IPv6 SANs in full form (0:0:0:0:0:0:0:1); compare in one canonical form. */
function normalizeIp(name: string): string {
  if (isIP(name) !== 6) return name;
  const url = new URL(`http://[${name}]/`);
  return url.hostname.slice(1, -1);
}

/**
 * Check that a serving pair is usable at `now`: the key matches the certificate, it is within its
 * validity, it chains to `caPem`, and it covers every name in `names`. Returns the problems found.
 */
export function checkServingPair(pair: KeyPair, caPem: string, names: readonly string[], now: Date): string[] {
  const problems: string[] = [];
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
    ca = new X509Certificate(caPem);
  } catch (err) {
    return [`unreadable certificate: ${(err as Error).message}`];
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) problems.push("the private key does not match the certificate");
  } catch (err) {
    problems.push(`unreadable private key: ${(err as Error).message}`);
  }
  if (now < new Date(cert.validFrom)) problems.push(`the certificate is not valid before ${cert.validFrom}`);
  if (now >= new Date(cert.validTo)) problems.push(`the certificate expired at ${cert.validTo}`);
  if (now >= new Date(ca.validTo)) problems.push(`the CA expired at ${ca.validTo}`);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) problems.push("the certificate is not signed by the CA");
  const have = new Set(parseSans(cert.subjectAltName).map(normalizeIp));
  const missing = names.map(normalizeIp).filter((n) => !have.has(n));
  if (missing.length > 0) problems.push(`the certificate does not cover ${missing.join(", ")}`);
  return problems;
}
