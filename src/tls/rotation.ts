/**
 * The self-managed certificate plan, as a pure function of what the leader sees: the shared
 * Secret, the webhook configuration's caBundles, and which CA each replica serves from. It is
 * level-triggered (a new leader picks up a rotation where the old one stopped) and returns one
 * step at a time; the caller carries it out and plans again.
 *
 * A CA is never switched in one go. A new CA goes into the Secret with the old one kept as
 * "previous"; the bundle is patched to trust both; only then is a serving certificate issued from
 * the new CA; and the old CA is dropped once every live replica serves from the new one.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { checkServingPair } from "./certificates.js";
import { encodePem, inspectCertificates, normalizePem, readCertificates, splitPemLeniently } from "./pem.js";

/** Keys of the shared Secret's data. */
export const SecretKey = {
  CaCert: "ca.crt",
  CaKey: "ca.key",
  Cert: "tls.crt",
  Key: "tls.key",
  /** CAs still trusted while a CA rotation finishes (PEM bundle). */
  PreviousCas: "ca-previous.crt",
} as const;

/** The Secret's content, decoded (each field absent when missing or empty). */
export interface CertState {
  readonly caCert?: string;
  readonly caKey?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly previousCas: readonly string[];
}

export interface WebhookBundle {
  readonly name: string;
  /** base64 of the PEM bundle, as stored in clientConfig.caBundle (undefined when unset). */
  readonly caBundle: string | undefined;
}

export interface PlanInput {
  /** The Secret's content, or null when there is no Secret. */
  readonly secret: CertState | null;
  /** The webhooks of the configured MutatingWebhookConfiguration, or null when it cannot be read or does not exist. */
  readonly webhooks: readonly WebhookBundle[] | null;
  /** The CA fingerprint each live replica serves from ("" when it serves nothing yet); null: unknown. */
  readonly replicas: readonly { readonly identity: string; readonly servingCa: string }[] | null;
  readonly names: readonly string[];
  readonly now: Date;
  readonly caValidityMs: number;
  readonly certValidityMs: number;
}

export type Step =
  | { readonly kind: "issue-ca"; readonly reason: string; readonly keepTrusted: readonly string[] }
  | { readonly kind: "patch-bundle"; readonly bundle: string; readonly webhooks: readonly string[] }
  | { readonly kind: "issue-serving"; readonly reason: string }
  | { readonly kind: "drop-previous"; readonly reason: string }
  | { readonly kind: "wait"; readonly reason: string }
  | { readonly kind: "none" };

/** The text of a base64 caBundle ("" when unset or empty). */
function bundleText(base64: string | undefined): string {
  return base64 ? Buffer.from(base64, "base64").toString("utf8") : "";
}

/**
 * The CAs of a base64 caBundle as kube-apiserver reads them (Go's rules, see pem.ts): a bundle
 * whose blocks are glued together yields fewer certificates, or none.
 */
export function decodeBundle(base64: string | undefined): string[] {
  return readCertificates(bundleText(base64));
}

/**
 * What the API server makes of a caBundle: the CAs it reads, and how many certificate blocks it
 * cannot read (glued to a neighbour, broken base64, not a certificate).
 */
export function inspectBundle(base64: string | undefined): { readonly cas: string[]; readonly unreadable: number } {
  const { certificates, unreadable } = inspectCertificates(bundleText(base64));
  return { cas: certificates, unreadable };
}

/**
 * The CAs a caBundle was meant to hold, each block found wherever it is (the bundles an older
 * version wrote with blocks glued together included): what to keep trusting in a new bundle.
 */
export function decodeBundleLeniently(base64: string | undefined): string[] {
  return splitPemLeniently(bundleText(base64));
}

function parse(pem: string): X509Certificate | null {
  try {
    return new X509Certificate(pem);
  } catch {
    return null;
  }
}

export function fingerprintOf(pem: string): string {
  return parse(pem)?.fingerprint256 ?? "";
}

/** The CAs to publish: current first, then the previous ones still valid; no duplicates. */
export function trustedCas(state: CertState, now: Date): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const pem of [state.caCert ?? "", ...state.previousCas]) {
    const x = parse(pem);
    if (!x || now >= new Date(x.validTo) || seen.has(x.fingerprint256)) continue;
    seen.add(x.fingerprint256);
    out.push(encodePem("CERTIFICATE", x.raw));
  }
  return out;
}

/** A base64 caBundle of `pems`, each block on its own lines and ending with a line break. */
export function encodeBundle(pems: readonly string[]): string {
  return Buffer.from(pems.map(normalizePem).join(""), "utf8").toString("base64");
}

/** The fingerprint of the CA (among `cas`) that issued `certPem`, or "" when none did. */
export function issuerAmong(certPem: string, cas: readonly string[]): string {
  const cert = parse(certPem);
  if (!cert) return "";
  for (const pem of cas) {
    const ca = parse(pem);
    if (ca && cert.checkIssued(ca) && cert.verify(ca.publicKey)) return ca.fingerprint256;
  }
  return "";
}

/** Time left as a fraction of the validity the certificate was issued for (configured, not backdated). */
function lifeLeft(pem: string, validityMs: number, now: Date): number {
  const x = parse(pem);
  if (!x) return 0;
  return (new Date(x.validTo).getTime() - now.getTime()) / validityMs;
}

/** Renew with a third of the certificate's life left. */
export const RENEW_AT_FRACTION_LEFT = 1 / 3;

/** Why the CA must be replaced: unusable (`due: false`), or usable with a third of its life left (`due: true`). */
function caProblem(state: CertState | null, input: PlanInput): { reason: string; due: boolean } | null {
  const unusable = (reason: string) => ({ reason, due: false });
  if (state === null) return unusable("there is no certificate Secret");
  if (!state.caCert || !state.caKey) return unusable("the Secret holds no CA");
  const ca = parse(state.caCert);
  if (!ca) return unusable("the Secret's CA is not a certificate");
  try {
    if (!ca.checkPrivateKey(createPrivateKey(state.caKey))) return unusable("the Secret's CA key does not match its certificate");
  } catch {
    return unusable("the Secret's CA key is unreadable");
  }
  if (lifeLeft(state.caCert, input.caValidityMs, input.now) < RENEW_AT_FRACTION_LEFT) return { reason: `the CA expires at ${ca.validTo}`, due: true };
  return null;
}

/**
 * A CA rotation starts only with a serving certificate that has at least half its life ahead: it
 * keeps serving until the new CA is trusted everywhere and its successor is issued (the bundle
 * settle delay, the replicas' swaps), and must not expire meanwhile.
 */
export const ROTATE_CA_WITH_SERVING_FRACTION_LEFT = 1 / 2;

/**
 * Why the serving pair must be reissued: unusable (`due: false`), or good with less than
 * `renewAt` of its life left (`due: true`; a third, unless a CA rotation asks for more).
 */
function servingProblem(state: CertState, input: PlanInput, renewAt = RENEW_AT_FRACTION_LEFT): { reason: string; due: boolean } | null {
  if (!state.cert || !state.key) return { reason: "the Secret holds no serving certificate", due: false };
  const problems = checkServingPair({ cert: state.cert, key: state.key }, state.caCert ?? "", input.names, input.now);
  if (problems.length > 0) return { reason: problems.join("; "), due: false };
  if (lifeLeft(state.cert, input.certValidityMs, input.now) < renewAt) {
    const part = renewAt === RENEW_AT_FRACTION_LEFT ? "a third" : "less than half";
    return { reason: `the serving certificate expires at ${parse(state.cert)?.validTo} (${part} of its life left)`, due: true };
  }
  return null;
}

/** The next step towards: a valid CA, a bundle that trusts it, a serving pair from it, no stale CAs. */
export function planCertificates(input: PlanInput): Step {
  const { secret, webhooks, now } = input;
  const badCa = caProblem(secret, input);
  if (badCa !== null) {
    // A CA rotation keeps serving the current certificate until the new CA is trusted everywhere
    // (the bundle settle delay at least): a current certificate with less than half its life
    // left is renewed from the still-valid CA first, so it cannot expire while the rotation waits.
    const serving = badCa.due && secret !== null ? servingProblem(secret, input, ROTATE_CA_WITH_SERVING_FRACTION_LEFT) : null;
    if (serving?.due === true) return { kind: "issue-serving", reason: `${serving.reason}; renewed before the CA rotation` };
    // Keep trusting what is trusted now, so replicas still serving an old certificate keep working.
    const keep = [secret?.caCert ?? "", ...(secret?.previousCas ?? []), ...(webhooks ?? []).flatMap((w) => decodeBundleLeniently(w.caBundle))];
    const keepTrusted = trustedCas({ previousCas: keep.filter((p) => p !== "") }, now);
    return { kind: "issue-ca", reason: badCa.reason, keepTrusted };
  }
  const state = secret as CertState;
  const trusted = trustedCas(state, now);
  const bundle = encodeBundle(trusted);
  if (webhooks !== null) {
    const stale = webhooks.filter((w) => w.caBundle !== bundle).map((w) => w.name);
    if (stale.length > 0) return { kind: "patch-bundle", bundle, webhooks: stale };
  }
  const badServing = servingProblem(state, input);
  if (badServing !== null) return { kind: "issue-serving", reason: badServing.reason };
  const caFingerprint = fingerprintOf(state.caCert ?? "");
  if (trusted.length > 1 || state.previousCas.length > 0) {
    if (input.replicas === null) return { kind: "wait", reason: "cannot tell which CA the replicas serve from" };
    const behind = input.replicas.filter((r) => r.servingCa !== "" && r.servingCa !== caFingerprint).map((r) => r.identity);
    if (behind.length > 0) return { kind: "wait", reason: `replicas still serving from a previous CA: ${behind.join(", ")}` };
    return { kind: "drop-previous", reason: "every replica serves from the current CA" };
  }
  return { kind: "none" };
}
