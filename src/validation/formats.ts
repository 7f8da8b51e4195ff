/**
 * Value formats shared by the config loader and the per-pod annotation validators.
 * Each check returns null when the value is fine, or a short description of the accepted form.
 */
import { isIP } from "node:net";

/** Kubernetes resource.Quantity, restricted to non-negative values (what resources accept). */
const QUANTITY = /^\+?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;

const SUFFIX_FACTORS: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export const QUANTITY_FORM = "a Kubernetes quantity such as 100m, 0.5, 128Mi or 1G";

export function isQuantity(value: string): boolean {
  return value.length <= 64 && QUANTITY.test(value);
}

/** The numeric value of a quantity (approximate for huge values; used only to compare). */
export function parseQuantity(value: string): number {
  if (!isQuantity(value)) throw new RangeError(`not a quantity: ${value}`);
  const match = /^\+?((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(.*)$/.exec(value);
  const num = Number(match?.[1]);
  const factor = SUFFIX_FACTORS[match?.[2] ?? ""] ?? 1;
  return num * factor;
}

export const PORT_LIST_FORM = "a comma-separated list of ports 1-65535 (e.g. 8080,9090)";

function isPort(text: string): boolean {
  if (!/^\d{1,5}$/.test(text)) return false;
  const n = Number(text);
  return n >= 1 && n <= 65535;
}

/** A comma-separated port list; empty is allowed (meaning "none"); `*` only when allowStar. */
export function isPortList(value: string, allowStar: boolean): boolean {
  const trimmed = value.trim();
  if (trimmed === "") return true;
  if (trimmed === "*") return allowStar;
  return trimmed.split(",").every((p) => isPort(p.trim()));
}

export const CIDR_LIST_FORM = "* or a comma-separated list of CIDRs (e.g. 10.0.0.0/8,fd00::/8)";

function isCidr(text: string): boolean {
  const slash = text.indexOf("/");
  if (slash < 0) return false;
  const ip = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** `*`, empty, or a comma-separated list of CIDRs. */
/** What an exclusion list accepts: CIDRs only (`*` would exclude everything; istiod refuses it too). */
export const EXCLUDE_CIDR_LIST_FORM = "a comma-separated list of CIDRs (e.g. 10.0.0.0/8,fd00::/8); * is not accepted";

/** A list of CIDRs, or nothing; no wildcard (Istio's ValidateExcludeIPRanges). */
export function isExcludeCidrList(value: string): boolean {
  return value.trim() !== "*" && isCidrList(value);
}

export function isCidrList(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed === "" || trimmed === "*") return true;
  return trimmed.split(",").every((c) => isCidr(c.trim()));
}

export const IMAGE_FORM = "a container image reference such as registry.example/istio/proxyv2:1.24.2";

/** A container image reference: no whitespace, sane characters, bounded length. */
export function isImageRef(value: string): boolean {
  return value.length > 0 && value.length <= 512 && /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/.test(value);
}

/** An RFC 1123 label (namespace names, container names, volume names). */
export function isDnsLabel(value: string): boolean {
  return value.length > 0 && value.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value);
}

/** An object name of most kinds (RFC 1123 subdomain): dot-separated DNS labels, at most 253 characters. */
export function isDnsSubdomain(value: string): boolean {
  return value.length > 0 && value.length <= 253 && value.split(".").every(isDnsLabel);
}

/** Kubernetes' DNS-1123 label: container and volume names. */
const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
/** Kubernetes' DNS-1123 subdomain: the optional prefix of a qualified name. */
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** The name part of a qualified name, and a label value (which may also be empty). */
const QUALIFIED_NAME_PART = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export const DNS1123_LABEL_FORM = 'lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters';
export const QUALIFIED_NAME_FORM =
  'a name of at most 63 letters, digits, "-", "_" or "." (starting and ending with a letter or digit), optionally after a DNS subdomain prefix of at most 253 characters and "/"';
export const LABEL_VALUE_FORM = 'empty, or at most 63 letters, digits, "-", "_" or "." starting and ending with a letter or digit';

export function isDns1123Label(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

/** A label or annotation key (Kubernetes' IsQualifiedName). */
export function isQualifiedName(value: string): boolean {
  if (value.length > 253 + 1 + 63) return false;
  const slash = value.indexOf("/");
  const name = slash < 0 ? value : value.slice(slash + 1);
  if (slash >= 0) {
    const prefix = value.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return false;
  }
  return name.length <= 63 && QUALIFIED_NAME_PART.test(name);
}

export function isLabelValue(value: string): boolean {
  return value === "" || (value.length <= 63 && QUALIFIED_NAME_PART.test(value));
}

/** A value to quote in a message: short values whole, long ones cut with their length stated. */
export function quoteForMessage(value: string, max = 40): string {
  return value.length <= max ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}
