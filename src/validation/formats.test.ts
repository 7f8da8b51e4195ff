import { describe, expect, it } from "@jest/globals";
import { isCidrList, isDnsLabel, isExcludeCidrList, isImageRef, isPortList, isQuantity, parseQuantity } from "./formats.js";

describe("quantities", () => {
  it.each([
    ["100m", 0.1],
    ["2", 2],
    ["2000m", 2],
    ["0.5", 0.5],
    ["128Mi", 128 * 2 ** 20],
    ["1Gi", 2 ** 30],
    ["1G", 1e9],
    ["1e3", 1000],
    ["+1k", 1000],
    [".5", 0.5],
  ])("%s = %d", (text, value) => {
    expect(isQuantity(text)).toBe(true);
    expect(parseQuantity(text)).toBeCloseTo(value);
  });
  it.each(["", "lots", "-1", "1GB", "1 Mi", "1.2.3", "Mi", "0x10"])("rejects %j", (text) => {
    expect(isQuantity(text)).toBe(false);
  });
});

describe("port lists", () => {
  it.each([
    ["", false, true],
    ["80", false, true],
    ["80, 443 ,8080", false, true],
    ["*", true, true],
    ["*", false, false],
    ["0", false, false],
    ["65536", false, false],
    ["80,", false, false],
    ["http", false, false],
  ])("%j (star %s) → %s", (text, star, ok) => {
    expect(isPortList(text, star)).toBe(ok);
  });
});

describe("CIDR lists", () => {
  it.each([
    ["*", true],
    ["", true],
    ["10.0.0.0/8", true],
    ["10.0.0.0/8, 192.168.1.0/24", true],
    ["fd00::/8", true],
    ["::/0", true],
    ["10.0.0.0", false],
    ["10.0.0.0/33", false],
    ["fd00::/129", false],
    ["300.0.0.0/8", false],
    ["10.0.0.0/8,*", false],
  ])("%j → %s", (text, ok) => {
    expect(isCidrList(text)).toBe(ok);
  });

  // Exclusions take CIDRs only, as istiod's ValidateExcludeIPRanges (`*` would exclude everything).
  it.each([
    ["*", false],
    [" * ", false],
    ["", true],
    ["10.96.0.2/24,10.96.0.3/24", true],
    ["bad", false],
  ])("as an exclusion list: %j → %s", (text, ok) => {
    expect(isExcludeCidrList(text)).toBe(ok);
  });
});

describe("names", () => {
  it.each([
    ["docker.io/istio/proxyv2:1.24.2", true],
    ["localhost:5000/proxy@sha256:abc", true],
    ["has space", false],
    ["", false],
    ["-leading", false],
  ])("image %j → %s", (text, ok) => {
    expect(isImageRef(text)).toBe(ok);
  });
  it.each([
    ["kube-system", true],
    ["a", true],
    ["Upper", false],
    ["-x", false],
    ["x".repeat(64), false],
  ])("DNS label %j → %s", (text, ok) => {
    expect(isDnsLabel(text)).toBe(ok);
  });
});
