import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { excludedInboundPorts } from "./render.js";
import { parseGoBool, prometheusMerge, sanitizeLabelName } from "./prometheus.js";

const AGENT = { "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus", "prometheus.io/scrape": "true" };

describe("prometheusMerge (as Istio 1.30's applyPrometheusMerge)", () => {
  it.each([
    ["a pod without scrape annotations is scraped through the agent", {}, { clear: [], set: AGENT, env: null }],
    [
      "the app's settings move to the env, every spelling cleared",
      { "prometheus.io.scrape": "true", "prometheus-io/port": "9090", "prometheus.io/path": "/metrics", team: "a" },
      { clear: ["prometheus.io.scrape", "prometheus-io/port", "prometheus.io/path"], set: AGENT, env: '{"scrape":"true","path":"/metrics","port":"9090"}' },
    ],
    ["only a port: the other fields are empty in the env", { "prometheus.io/port": "8080" }, { clear: ["prometheus.io/port"], set: AGENT, env: '{"scrape":"","path":"","port":"8080"}' }],
    ["a scrape value that is not a boolean does not opt out", { "prometheus.io/scrape": "yes" }, { clear: ["prometheus.io/scrape"], set: AGENT, env: '{"scrape":"yes","path":"","port":""}' }],
    ["annotation keys named like prototype members are not read as Prometheus keys", { toString: "x", constructor: "y" }, { clear: [], set: AGENT, env: null }],
  ])("%s", (_name, annotations, expected) => {
    expect(prometheusMerge(annotations, true)).toEqual(expected);
  });

  it.each([
    ["false", { "prometheus.io/scrape": "false" }],
    ["F in another spelling", { "prometheus-io/scrape": "F" }],
    ["0", { "prometheus.io.scrape": "0" }],
    ["a port already at the agent (injected before)", { "prometheus.io/port": "15020" }],
  ])("leaves the pod alone: %s", (_name, annotations) => {
    expect(prometheusMerge(annotations, true)).toBeNull();
  });

  it("does nothing when the merge is off", () => {
    expect(prometheusMerge({}, false)).toBeNull();
  });

  it("reads keys and booleans as Prometheus and Go do", () => {
    expect(sanitizeLabelName("prometheus.io/scrape")).toBe("prometheus_io_scrape");
    expect(["1", "t", "T", "TRUE", "true", "True"].map(parseGoBool)).toEqual(Array(6).fill(true));
    expect(["0", "f", "F", "FALSE", "false", "False"].map(parseGoBool)).toEqual(Array(6).fill(false));
    expect(["yes", "", " true", "tRUE"].map(parseGoBool)).toEqual(Array(4).fill(undefined));
  });
});

describe("excludedInboundPorts (istio-iptables -d, as Istio's excludeInboundPort)", () => {
  it.each([
    ["the status port is added last", "15020", "", "15090,15021,15020"],
    ["after the user's ports", "15020", "4,5,6", "15090,15021,4,5,6,15020"],
    ["not twice", "15020", "15020,9000", "15090,15021,15020,9000"],
    ["another status port", "123", "", "15090,15021,123"],
    ["status port 0 adds nothing", "0", "", "15090,15021"],
    ["status port 0 keeps the user's list", "0", "9000", "15090,15021,9000"],
    ["blank entries are dropped", "15020", "9000,,", "15090,15021,9000,15020"],
  ])("%s", (_name, status, user, expected) => {
    expect(excludedInboundPorts(status, user)).toBe(expected);
  });
});

describe("the keys the merge reads", () => {
  it("are exactly those whose Prometheus-sanitized form is one of its three fields, whatever the key", () => {
    const targets = new Set(["prometheus_io_scrape", "prometheus_io_path", "prometheus_io_port"]);
    const spelling = fc.constantFrom("prometheus.io/scrape", "prometheus-io.port", "prometheus_io/path", "Prometheus.io/scrape", "prometheus.io/scrapes");
    const key = fc.oneof(spelling, fc.string({ maxLength: 24 }), fc.string({ unit: "grapheme", maxLength: 12 }), spelling.map((s) => s.replace(".", "\u{1F600}")));
    fc.assert(
      fc.property(fc.uniqueArray(key, { maxLength: 6 }), (keys) => {
        const annotations = Object.fromEntries(keys.map((k) => [k, "9090"]));
        const expected = keys.filter((k) => targets.has(sanitizeLabelName(k)));
        expect(prometheusMerge(annotations, true)?.clear ?? []).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
