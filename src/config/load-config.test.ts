import { describe, expect, it } from "@jest/globals";
import { problemsOf } from "../../test/support/builders.js";
import { ConfigError } from "../errors.js";
import { DEFAULT_CONFIG } from "./config.js";
import { canonicalJson, hashOf } from "../json-values.js";
import { loadConfig, parseConfigText } from "./load-config.js";
import { aliasBomb } from "../../test/support/hostile-yaml.js";


describe("loadConfig", () => {
  it("returns the embedded defaults, deep-frozen", () => {
    const c = loadConfig({ env: {} });
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(Object.isFrozen(c.sidecar.resources.requests)).toBe(true);
    expect(() => {
      (c.server as { port: number }).port = 1;
    }).toThrow();
  });

  it("merges a partial file over the defaults (objects merge, lists replace)", () => {
    const c = loadConfig({
      env: {},
      file: { source: "f.yaml", content: { sidecar: { image: "r.example/proxy:1", resources: { limits: { cpu: "1" } } }, ignoredNamespaces: ["a"] } },
    });
    expect(c.sidecar.image).toBe("r.example/proxy:1");
    expect(c.sidecar.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "1024Mi" } });
    expect(c.ignoredNamespaces).toEqual(["a"]);
    expect(c.sidecar.initImage).toBe(DEFAULT_CONFIG.sidecar.initImage);
  });

  it("applies flags over env over file", () => {
    const file = { source: "f", content: { server: { port: 9000, certDir: "/file" } } };
    expect(loadConfig({ env: {}, file }).server.port).toBe(9000);
    expect(loadConfig({ env: { PORT: "9100" }, file }).server.port).toBe(9100);
    expect(loadConfig({ env: { PORT: "9100" }, file, flags: { port: 9200 } }).server.port).toBe(9200);
    expect(loadConfig({ env: { METRICS_PORT: "9101" }, file }).server.metricsPort).toBe(9101);
    expect(loadConfig({ env: { CERT_DIR: "/env" }, file }).server.certDir).toBe("/env");
    expect(loadConfig({ env: { POD_NAMESPACE: "mesh" } }).service.namespace).toBe("mesh");
    expect(loadConfig({ env: { LOG_LEVEL: "debug" } }).server.logLevel).toBe("debug");
  });

  it("ignores unrelated environment variables", () => {
    expect(loadConfig({ env: { HOME: "/root", SIDECAR_X: "1" } })).toEqual(DEFAULT_CONFIG);
  });

  it("lists every problem, each named by path", () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: { PORT: "http", LOG_LEVEL: "chatty" },
        file: {
          source: "config.yaml",
          content: {
            server: { port: 70000, shutdownDeadlineMs: -1 },
            sidecar: {
              image: "has space",
              resources: { limits: { cpu: "lots" } },
              includeOutboundIPRanges: "10.0.0.0",
              imagePullSecrets: "one",
              interceptionMode: "NONE",
            },
            nativeSidecars: "maybe",
            ignoredNamespaces: ["Kube_System"],
            unknownTop: 1,
          },
        },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        "config.yaml: server.port must be an integer from 0 to 65535",
        "config.yaml: server.shutdownDeadlineMs must be an integer from 0 to 600000",
        expect.stringMatching(/^config.yaml: sidecar.image must be a container image reference/),
        expect.stringMatching(/^config.yaml: sidecar.resources.limits.cpu must be a Kubernetes quantity/),
        expect.stringMatching(/^config.yaml: sidecar.includeOutboundIPRanges must be \* or a comma-separated list of CIDRs/),
        "config.yaml: sidecar.imagePullSecrets must be a list",
        "config.yaml: sidecar.interceptionMode must be one of REDIRECT, TPROXY",
        "config.yaml: nativeSidecars must be one of auto, true, false",
        expect.stringMatching(/^config.yaml: ignoredNamespaces\[0\] must be a namespace name/),
        "config.yaml: unknownTop is not a known setting",
        'PORT="http" (environment): server.port must be an integer from 0 to 65535',
        expect.stringMatching(/^LOG_LEVEL="chatty" \(environment\): server.logLevel must be one of trace/),
      ]),
    );
  });

  describe("sidecar.imagePullSecrets: what the API server accepts, with a warning where no Secret can have the name", () => {
    const load = (content: Record<string, unknown>) => {
      const warnings: string[] = [];
      const config = loadConfig({ env: {}, warnings, file: { source: "f.yaml", content } });
      return { secrets: config.sidecar.imagePullSecrets, warnings };
    };
    const NO_SECRET = "is not a name a Secret can have (a lower-case DNS subdomain): the pods get the reference, but the kubelet finds no Secret by it and pulls without it";
    it.each([
      ["DNS labels", ["mesh-registry", "team"], []],
      ["a DNS subdomain (a Secret name may have dots)", ["registry.example.com"], []],
      ["a name with capitals, as Istio's own test install sets it", ["barSecret"], [`f.yaml: sidecar.imagePullSecrets[0]: "barSecret" ${NO_SECRET}`]],
      ["names with underscores and spaces", ["ok", "my_secret", "a b"], [`f.yaml: sidecar.imagePullSecrets[1]: "my_secret" ${NO_SECRET}`, `f.yaml: sidecar.imagePullSecrets[2]: "a b" ${NO_SECRET}`]],
    ])("accepts %s", (_name, names, warnings) => {
      expect(load({ sidecar: { imagePullSecrets: names } })).toEqual({ secrets: names, warnings });
    });

    it("names the Istio value a name came from, unless the file's own setting wins", () => {
      const istio = { values: { global: { imagePullSecrets: ["ok", { name: "barSecret" }] } } };
      expect(load({ istio })).toEqual({
        secrets: ["ok", "barSecret"],
        warnings: [`f.yaml: istio.values.global.imagePullSecrets[1] (as sidecar.imagePullSecrets): "barSecret" ${NO_SECRET}`],
      });
      expect(load({ istio, sidecar: { imagePullSecrets: ["Mine"] } })).toEqual({ secrets: ["Mine"], warnings: [`f.yaml: sidecar.imagePullSecrets[0]: "Mine" ${NO_SECRET}`] });
    });

    it("refuses what is not a name at all", () => {
      expect(problemsOf(() => load({ sidecar: { imagePullSecrets: ["", " ", 3] } }))).toEqual([
        "f.yaml: sidecar.imagePullSecrets[0] must be a non-empty string",
        "f.yaml: sidecar.imagePullSecrets[1] must be a non-empty string",
        "f.yaml: sidecar.imagePullSecrets[2] must be a non-empty string",
      ]);
    });
  });

  it("checks cniProvider and otelSemanticConventions", () => {
    expect(loadConfig({ env: {}, file: { source: "f", content: { cni: true, cniProvider: "multus", otelSemanticConventions: true } } })).toMatchObject({
      cni: true,
      cniProvider: "multus",
      otelSemanticConventions: true,
    });
    expect(problemsOf(() => loadConfig({ env: {}, file: { source: "f", content: { cniProvider: "calico", otelSemanticConventions: "yes" } } }))).toEqual([
      "f: cniProvider must be one of default, multus",
      "f: otelSemanticConventions must be true or false",
    ]);
  });

  it("names the environment variable or flag that is wrong", () => {
    expect(problemsOf(() => loadConfig({ env: { POD_NAMESPACE: "Bad_NS" }, flags: { port: 70000, certDir: "" } }))).toEqual([
      'POD_NAMESPACE="Bad_NS" (environment): service.namespace must be a DNS label',
      "--port: server.port must be an integer from 0 to 65535",
      "--cert-dir: server.certDir must be a non-empty string",
    ]);
  });

  it("validates label selectors", () => {
    expect(
      problemsOf(() =>
        loadConfig({
          env: {},
          file: {
            source: "f",
            content: {
              neverInjectSelector: [{ matchLabels: { "bad key!": "x" } }, { matchExpressions: [{ key: "a", operator: "In" }] }, { other: 1 }],
              alwaysInjectSelector: [{ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }, { key: "b", operator: "Near" }] }],
              policy: "sometimes",
              cni: "yes",
            },
          },
        }),
      ),
    ).toEqual([
      'f: neverInjectSelector[0].matchLabels key "bad key!" is not a label key',
      "f: neverInjectSelector[1].matchExpressions[0].values must be a non-empty list of strings for In",
      "f: neverInjectSelector[2].other is not a known setting",
      "f: alwaysInjectSelector[0].matchExpressions[0].values must be empty for Exists",
      "f: alwaysInjectSelector[0].matchExpressions[1].operator must be one of In, NotIn, Exists, DoesNotExist",
      "f: policy must be one of enabled, disabled, audit",
      "f: cni must be true or false",
    ]);
  });

  it("rejects a request above its limit", () => {
    expect(
      problemsOf(() => loadConfig({ env: {}, file: { source: "f", content: { sidecar: { resources: { requests: { memory: "2Gi" } } } } } })),
    ).toEqual(["sidecar.resources.requests.memory (2Gi) must not exceed sidecar.resources.limits.memory (1024Mi)"]);
  });

  it("rejects a file that is not an object, and __proto__ keys", () => {
    expect(problemsOf(() => loadConfig({ env: {}, file: { source: "f", content: [1] } }))).toEqual(["f: configuration must be an object"]);
    const content = JSON.parse('{"__proto__":{"polluted":true}}') as unknown;
    expect(problemsOf(() => loadConfig({ env: {}, file: { source: "f", content } }))).toEqual(["f: __proto__ is not a known setting"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("parseConfigText", () => {
  it("reads YAML and JSON", () => {
    expect(parseConfigText("server:\n  port: 1\n", "f")).toEqual({ server: { port: 1 } });
    expect(parseConfigText('{"revision":"canary"}', "f")).toEqual({ revision: "canary" });
    expect(parseConfigText("", "f")).toEqual({});
  });
  it("names the file on a syntax error", () => {
    expect(() => parseConfigText("a: [", "cm/config.yaml")).toThrow(/cm\/config.yaml is not valid YAML or JSON/);
    expect(() => parseConfigText("a: 1\na: 2\n", "f")).toThrow(ConfigError);
  });
});

describe("hashing", () => {
  it("is independent of key order", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    expect(hashOf({ a: 1, b: 2 })).toBe(hashOf({ b: 2, a: 1 }));
    expect(hashOf({ a: 1 })).not.toBe(hashOf({ a: 2 }));
  });
});

describe("loadConfig: tls", () => {
  const load = (tls: Record<string, unknown>, env: Record<string, string> = {}) =>
    loadConfig({ env, file: { source: "c.yaml", content: { tls } } });

  it.each([
    ["a mode", { mode: "files", certFile: "/m/tls.crt", keyFile: "/m/tls.key" }],
    ["fractional seconds for demos", { certValiditySeconds: 6, leaseDurationSeconds: 1.5, renewDeadlineSeconds: 1, retryPeriodSeconds: 0.2 }],
    ["files mode with the cert folder's defaults", { mode: "files" }],
  ])("accepts %s", (_name, tls) => {
    expect(load(tls).tls).toMatchObject(tls);
  });

  it.each([
    ["an unknown mode", { mode: "cert-manager" }, "c.yaml: tls.mode must be one of auto, local, files, self-managed"],
    ["a lease shorter than the renew deadline", { leaseDurationSeconds: 5 }, "tls.leaseDurationSeconds (5) must be greater than tls.renewDeadlineSeconds (10)"],
    ["a renew deadline without room for a retry", { renewDeadlineSeconds: 2.2, leaseDurationSeconds: 3 }, "tls.renewDeadlineSeconds (2.2) must be greater than 1.2 × tls.retryPeriodSeconds (2)"],
    ["a CA that expires before its certificates", { caValiditySeconds: 3600 }, "tls.caValiditySeconds (3600) must be greater than tls.certValiditySeconds (604800)"],
    ["a certificate without its key", { mode: "files", certFile: "/m/tls.crt" }, "tls.certFile and tls.keyFile must be given together (or neither, for <server.certDir>/tls.crt and tls.key)"],
    ["a Secret name that is not a name", { secretName: "Certs!" }, "c.yaml: tls.secretName must be a Secret name (DNS subdomain)"],
    ["a duration as text", { certValiditySeconds: "7d" }, "c.yaml: tls.certValiditySeconds must be a number of seconds from 1 to 3153600000"],
  ])("rejects %s", (_name, tls, problem) => {
    expect(problemsOf(() => load(tls))).toContain(problem);
  });

  it("reads TLS_MODE from the environment and --tls-mode from the flags", () => {
    expect(loadConfig({ env: { TLS_MODE: "self-managed" } }).tls.mode).toBe("self-managed");
    expect(loadConfig({ env: { TLS_MODE: "self-managed" }, flags: { tlsMode: "files" } }).tls.mode).toBe("files");
    expect(problemsOf(() => loadConfig({ env: { TLS_MODE: "x" } }))[0]).toMatch(/^TLS_MODE="x" \(environment\): tls.mode must be one of/);
  });
});

describe("parseConfigText: the one YAML reader's limits", () => {
  it.each([
    ["an alias bomb", `${aliasBomb()}\n`, "cm/config.yaml: YAML aliases expand too far (limit 100 per alias)"],
    ["nesting past the limit", `a: ${"[".repeat(120)}${"]".repeat(120)}\n`, "cm/config.yaml: nested 121 levels deep (limit 100)"],
    ["two documents", "a: 1\n---\nb: 2\n", "cm/config.yaml: holds 2 YAML documents; expected one"],
  ])("refuses %s as a ConfigError naming the file and the limit", (_name, text, problem) => {
    let thrown: unknown;
    try {
      parseConfigText(text, "cm/config.yaml");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems).toEqual([problem]);
  });
});
