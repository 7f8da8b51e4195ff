import { describe, expect, it } from "@jest/globals";
import { problemsOf } from "../../test/support/builders.js";
import { deriveFromIstio, unwrapConfigMap } from "./istio-settings.js";
import { type LoadConfigInput, istioClusterSourceOf, loadConfig, parseConfigText } from "./load-config.js";

const BASES = { values: "istio.values", meshConfig: "istio.meshConfig" };

function derive(input: { values?: unknown; meshConfig?: unknown }) {
  const problems: string[] = [];
  const out = deriveFromIstio(input, BASES, problems);
  return { ...out, problems };
}


describe("deriveFromIstio", () => {
  it.each([
    ["global.proxy.statusPort", { global: { proxy: { statusPort: 123 } } }, { sidecar: { statusPort: 123 } }],
    ["global.imagePullPolicy \"\" (left to the kubelet)", { global: { imagePullPolicy: "" } }, { sidecar: { imagePullPolicy: null } }],
    ["global.imagePullSecrets, names or {name}", { global: { imagePullSecrets: ["a", { name: "b" }] } }, { sidecar: { imagePullSecrets: ["a", "b"] } }],
    ["the traffic settings", { global: { proxy: { includeIPRanges: "10.0.0.0/8", excludeInboundPorts: "4,5" } } }, { sidecar: { includeOutboundIPRanges: "10.0.0.0/8", excludeInboundPorts: "4,5" } }],
    ["hub and tag as the proxy image", { global: { hub: "r.example/istio", tag: "1.30.1" } }, { sidecar: { image: "r.example/istio/proxyv2:1.30.1", initImage: "r.example/istio/proxyv2:1.30.1" } }],
    ["a proxy image with a /, as it is", { global: { proxy: { image: "r.example/p:1" } } }, { sidecar: { image: "r.example/p:1", initImage: "r.example/p:1" } }],
    ["native sidecars from pilot.env", { pilot: { env: { ENABLE_NATIVE_SIDECARS: "false", OTHER: "x" } } }, { nativeSidecars: "false" }],
    ["CNI", { pilot: { cni: { enabled: true, provider: "default" } } }, { cni: true, cniProvider: "default" }],
    ["CNI with Multus", { pilot: { cni: { enabled: true, provider: "multus" } } }, { cni: true, cniProvider: "multus" }],
    ["an empty CNI provider as Istio's default", { pilot: { cni: { provider: "" } } }, {}],
    ["null as not set", { global: { proxy: { statusPort: null } } }, {}],
    ["an empty revision as default", { revision: "" }, { revision: "default" }],
  ])("maps %s", (_name, values, partial) => {
    const out = derive({ values });
    expect(out.problems).toEqual([]);
    expect(out.partial).toEqual(partial);
  });

  it("maps the mesh's defaultConfig into PROXY_CONFIG and the fields we own", () => {
    const out = derive({ meshConfig: { trustDomain: "example.org", defaultConfig: { interceptionMode: "TPROXY", drainDuration: "23s", proxyMetadata: { A: "1" } } } });
    expect(out.problems).toEqual([]);
    expect(out.partial).toEqual({
      sidecar: {
        trustDomain: "example.org",
        interceptionMode: "TPROXY",
        proxyConfig: { interceptionMode: "TPROXY", drainDuration: "23s", proxyMetadata: { A: "1" } },
      },
    });
    expect(out.sources.get("sidecar.interceptionMode")).toBe("istio.meshConfig.defaultConfig.interceptionMode");
  });

  const zipkin = { name: "z", zipkin: { service: "z", port: 9411 } };
  const otel = (serviceAttributeEnrichment?: unknown) => ({
    name: "otel",
    opentelemetry: { service: "c.o.svc", port: 4317, ...(serviceAttributeEnrichment !== undefined && { serviceAttributeEnrichment }) },
  });
  it.each([
    ["an OpenTelemetry provider with OTEL_SEMANTIC_CONVENTIONS, among others", [zipkin, otel("OTEL_SEMANTIC_CONVENTIONS")], true],
    ["one with ISTIO_CANONICAL", [otel("ISTIO_CANONICAL")], false],
    ["one that does not say (ISTIO_CANONICAL)", [otel()], false],
    ["providers without OpenTelemetry", [zipkin], false],
    ["no providers", [], false],
  ])("maps extensionProviders to otelSemanticConventions: %s", (_name, extensionProviders, on) => {
    const out = derive({ meshConfig: { extensionProviders } });
    expect(out.problems).toEqual([]);
    expect(out.partial).toEqual({ otelSemanticConventions: on });
    expect(out.sources.get("otelSemanticConventions")).toBe("istio.meshConfig.extensionProviders");
  });

  it("refuses extensionProviders it cannot read, each with its path", () => {
    expect(derive({ meshConfig: { extensionProviders: { name: "z" } } }).problems).toEqual(["istio.meshConfig.extensionProviders must be a list of providers"]);
    expect(derive({ meshConfig: { extensionProviders: ["otel", { name: "o", opentelemetry: "c.o.svc" }, otel("OTEL")] } }).problems).toEqual([
      "istio.meshConfig.extensionProviders[0] must be a provider (an object with a name and one provider's settings)",
      "istio.meshConfig.extensionProviders[1].opentelemetry must be an object",
      "istio.meshConfig.extensionProviders[2].opentelemetry.serviceAttributeEnrichment must be one of ISTIO_CANONICAL, OTEL_SEMANTIC_CONVENTIONS",
    ]);
  });

  it("accepts and ignores what changes no pod", () => {
    const out = derive({
      values: { global: { logAsJson: true, priorityClassName: "x", defaultResources: { requests: { cpu: "10m" } } }, pilot: { env: { PILOT_TRACE_SAMPLING: "1" } } },
      meshConfig: { accessLogFile: "/dev/stdout", outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } },
    });
    expect(out.problems).toEqual([]);
    expect(out.partial).toEqual({});
  });

  it("refuses, each with its path: unknown keys, Go templates, values we cannot honor", () => {
    const out = derive({
      values: {
        global: { proxy: { statusPrt: 1, privileged: true }, podDNSSearchNamespaces: ["{{ .Values.x }}"] },
        sidecarInjectorWebhook: { templates: { custom: "spec: {}" } },
        nonsense: 1,
      },
      meshConfig: "nope",
    });
    expect(out.problems).toEqual([
      `istio.values.global.proxy.statusPrt is not a key Istio's injector reads (docs/configuration.md, "The istio block", lists the keys accepted and ignored)`,
      'istio.values.global.proxy.privileged: true is not supported by this injector (only Istio\'s default false is accepted)',
      "istio.values.global.podDNSSearchNamespaces[0]: Go templates are not supported (templates here are data: see templates.<name>)",
      'istio.values.sidecarInjectorWebhook.templates: {"custom":"spec: {}"} is custom Go templates are not supported: write them as overlay templates (templates.<name>) (only Istio\'s default {} is accepted)',
      `istio.values.nonsense is not a key Istio's injector reads (docs/configuration.md, "The istio block", lists the keys accepted and ignored)`,
      "istio.meshConfig must be an object",
    ]);
  });
});

describe("unwrapConfigMap", () => {
  const parse = (t: string) => parseConfigText(t, "x");
  it("reads data.values of a ConfigMap export, and passes a bare object through", () => {
    const problems: string[] = [];
    const cm = { apiVersion: "v1", kind: "ConfigMap", data: { values: '{"global":{"proxy":{"statusPort":1}}}' } };
    expect(unwrapConfigMap(cm, "values", "cm.yaml", parse, problems)).toEqual({ global: { proxy: { statusPort: 1 } } });
    expect(unwrapConfigMap({ global: {} }, "values", "v.yaml", parse, problems)).toEqual({ global: {} });
    expect(problems).toEqual([]);
  });

  it("refuses a ConfigMap without the key", () => {
    const problems: string[] = [];
    expect(unwrapConfigMap({ kind: "ConfigMap", data: { config: "" } }, "values", "cm.yaml", parse, problems)).toBeUndefined();
    expect(problems).toEqual(["cm.yaml: a ConfigMap without data.values"]);
  });
});

describe("loadConfig with the istio block", () => {
  it("applies Istio's settings under ours: our explicit settings win, and each disagreement is noted once", () => {
    const notices: string[] = [];
    const c = loadConfig({
      env: {},
      notices,
      file: { source: "f.yaml", content: { sidecar: { statusPort: 15020 }, istio: { values: { global: { proxy: { statusPort: 123, readinessPeriodSeconds: 200 } } } } } },
    });
    expect(c.sidecar.statusPort).toBe(15020);
    expect(c.sidecar.readinessPeriodSeconds).toBe(200);
    expect(notices).toEqual(["sidecar.statusPort: 15020 (f.yaml) wins over 123 from f.yaml: istio.values.global.proxy.statusPort"]);
  });

  it("checks mapped values by our rules, naming the Istio path", () => {
    expect(problemsOf(() => loadConfig({ env: {}, file: { source: "f.yaml", content: { istio: { values: { global: { proxy: { excludeIPRanges: "*" } } } } } } }))).toEqual([
      "f.yaml: istio.values.global.proxy.excludeIPRanges (as sidecar.excludeOutboundIPRanges) must be a comma-separated list of CIDRs (e.g. 10.0.0.0/8,fd00::/8); * is not accepted",
    ]);
  });

  it("checks the CNI provider by our rules, naming the Istio path", () => {
    expect(problemsOf(() => loadConfig({ env: {}, file: { source: "f.yaml", content: { istio: { values: { pilot: { cni: { enabled: true, provider: "calico" } } } } } } }))).toEqual([
      "f.yaml: istio.values.pilot.cni.provider (as cniProvider) must be one of default, multus",
    ]);
  });

  it("reads the Multus provider and OpenTelemetry's semantic conventions into our settings", () => {
    const c = loadConfig({
      env: {},
      file: {
        source: "f.yaml",
        content: {
          istio: {
            values: { pilot: { cni: { enabled: true, provider: "multus" } } },
            meshConfig: { extensionProviders: [{ name: "otel", opentelemetry: { service: "c", port: 4317, serviceAttributeEnrichment: "OTEL_SEMANTIC_CONVENTIONS" } }] },
          },
        },
      },
    });
    expect({ cni: c.cni, cniProvider: c.cniProvider, otelSemanticConventions: c.otelSemanticConventions }).toEqual({ cni: true, cniProvider: "multus", otelSemanticConventions: true });
  });

  it("refuses unknown keys of the block", () => {
    expect(problemsOf(() => loadConfig({ env: {}, file: { source: "f.yaml", content: { istio: { value: {} } } } }))).toEqual([
      "f.yaml: istio.value is not a known setting (istio takes values and meshConfig, or fromCluster)",
    ]);
  });

  it("reads --istio-values and --mesh-config files (ConfigMap exports), over the file's block", () => {
    const c = loadConfig({
      env: {},
      file: { source: "f.yaml", content: { istio: { values: { global: { proxy: { statusPort: 1 } } } } } },
      istio: {
        values: { source: "injector.yaml", content: { kind: "ConfigMap", data: { values: "global:\n  proxy:\n    statusPort: 2\n" } } },
        meshConfig: { source: "mesh.yaml", content: { kind: "ConfigMap", data: { mesh: "defaultConfig:\n  holdApplicationUntilProxyStarts: true\n" } } },
      },
    });
    expect(c.sidecar.statusPort).toBe(2);
    expect(c.holdApplicationUntilProxyStarts).toBe(true);
    expect(problemsOf(() => loadConfig({ env: {}, istio: { values: { source: "cm.yaml", content: { kind: "ConfigMap", data: {} } } } }))).toEqual([
      "cm.yaml: a ConfigMap without data.values",
    ]);
  });
});

describe("istio.fromCluster", () => {
  const injector = (values: string | undefined) => ({ metadata: { name: "istio-sidecar-injector", namespace: "istio-system" }, data: values === undefined ? { config: "{}" } : { values, config: "{}" } });
  const mesh = (text: string | undefined) => ({ metadata: { name: "istio", namespace: "istio-system" }, data: text === undefined ? {} : { mesh: text } });
  const load = (fromCluster: unknown, maps: { injector: unknown; mesh: unknown } | undefined, extra: Record<string, unknown> = {}, files: LoadConfigInput["istio"] = undefined) =>
    loadConfig({ env: {}, file: { source: "f.yaml", content: { istio: { fromCluster, ...extra } } }, ...(maps && { fromCluster: maps }), ...(files && { istio: files }) });

  it.each([
    ["{} for Istio's names", {}, { namespace: "istio-system", injectorConfigMap: "istio-sidecar-injector", meshConfigMap: "istio" }],
    ["a namespace of its own (a revision's install)", { namespace: "istio-canary" }, { namespace: "istio-canary", injectorConfigMap: "istio-sidecar-injector", meshConfigMap: "istio" }],
    ["every name", { namespace: "mesh", injectorConfigMap: "istio-sidecar-injector-canary", meshConfigMap: "istio-canary" }, { namespace: "mesh", injectorConfigMap: "istio-sidecar-injector-canary", meshConfigMap: "istio-canary" }],
  ])("reads where to look: %s", (_name, given, expected) => {
    expect(istioClusterSourceOf({ istio: { fromCluster: given } }, "f.yaml")).toEqual(expected);
  });

  it("is not set without it", () => {
    expect(istioClusterSourceOf({ istio: { values: {} } }, "f.yaml")).toBeUndefined();
    expect(istioClusterSourceOf({}, "f.yaml")).toBeUndefined();
  });

  it.each([
    ["true (one form only: an object)", true, ["f.yaml: istio.fromCluster must be an object (namespace, injectorConfigMap, meshConfigMap; {} for Istio's: istio-system, istio-sidecar-injector, istio)"]],
    ["an unknown key", { namespaces: "x" }, ["f.yaml: istio.fromCluster.namespaces is not a known setting"]],
    [
      "bad names, each by path",
      { namespace: "Istio_System", injectorConfigMap: "", meshConfigMap: 3 },
      [
        "f.yaml: istio.fromCluster.namespace must be a namespace name (DNS label)",
        "f.yaml: istio.fromCluster.injectorConfigMap must be a ConfigMap name (DNS subdomain)",
        "f.yaml: istio.fromCluster.meshConfigMap must be a ConfigMap name (DNS subdomain)",
      ],
    ],
  ])("refuses %s", (_name, given, problems) => {
    expect(problemsOf(() => istioClusterSourceOf({ istio: { fromCluster: given } }, "f.yaml"))).toEqual(problems);
    expect(problemsOf(() => load(given, { injector: injector("{}"), mesh: undefined }))).toEqual(problems);
  });

  it("maps the ConfigMaps' values (JSON, as Istio's chart writes it) and mesh (YAML) as the files are mapped", () => {
    const c = load({}, {
      injector: injector(JSON.stringify({ global: { proxy: { resources: { limits: { cpu: "1", memory: "512Mi" } } } }, revision: "" })),
      mesh: mesh("defaultConfig:\n  holdApplicationUntilProxyStarts: true\n"),
    });
    expect(c.sidecar.resources.limits).toEqual({ cpu: "1", memory: "512Mi" });
    expect(c.sidecar.initResources.limits).toEqual({ cpu: "1", memory: "512Mi" });
    expect(c.holdApplicationUntilProxyStarts).toBe(true);
  });

  it.each([
    ["no mesh ConfigMap", undefined],
    ["a mesh ConfigMap without its mesh key", mesh(undefined)],
  ])("%s: Istio's mesh defaults, as istiod reads it", (_name, meshMap) => {
    const c = load({}, { injector: injector("{}"), mesh: meshMap });
    expect(c.holdApplicationUntilProxyStarts).toBe(false);
    expect(c.sidecar.proxyConfig).toEqual({});
  });

  it.each([
    ["an injector ConfigMap without values", { injector: injector(undefined), mesh: undefined }, ["ConfigMap istio-system/istio-sidecar-injector: a ConfigMap without data.values"]],
    ["no injector ConfigMap", { injector: undefined, mesh: mesh("{}") }, ["ConfigMap istio-system/istio-sidecar-injector (istio.fromCluster) was not found"]],
    [
      "an unknown key and a wrong type, each by path",
      { injector: injector(JSON.stringify({ global: { proxy: { statusPorts: 1, holdApplicationUntilProxyStarts: "yes" } } })), mesh: undefined },
      [
        "ConfigMap istio-system/istio-sidecar-injector: values.global.proxy.statusPorts is not a key Istio's injector reads (docs/configuration.md, \"The istio block\", lists the keys accepted and ignored)",
        "ConfigMap istio-system/istio-sidecar-injector: values.global.proxy.holdApplicationUntilProxyStarts (as holdApplicationUntilProxyStarts) must be true or false",
      ],
    ],
    ["values that are not JSON or YAML", { injector: injector("{ global: [}"), mesh: undefined }, [expect.stringMatching(/^ConfigMap istio-system\/istio-sidecar-injector data\.values is not valid YAML or JSON: /)]],
    ["a mesh that is not an object", { injector: injector("{}"), mesh: mesh("- a\n") }, ["ConfigMap istio-system/istio: mesh must be an object"]],
  ])("refuses %s", (_name, maps, problems) => {
    expect(problemsOf(() => load({}, maps))).toEqual(problems);
  });

  it.each([
    ["istio.values", { values: {} }, undefined, "istio.values"],
    ["istio.meshConfig", { meshConfig: {} }, undefined, "istio.meshConfig"],
    ["--istio-values", {}, { values: { source: "v.yaml", content: {} } }, "--istio-values"],
    ["--mesh-config", {}, { meshConfig: { source: "m.yaml", content: {} } }, "--mesh-config"],
  ])("cannot be combined with %s: the cluster is then the source", (_name, extra, files, named) => {
    expect(problemsOf(() => load({}, { injector: injector("{}"), mesh: undefined }, extra, files))).toEqual([
      `f.yaml: istio.fromCluster cannot be combined with ${named}: with fromCluster, Istio's settings come from the cluster's ConfigMaps only`,
    ]);
  });

  it("is refused where the cluster's ConfigMaps were not read (the commands)", () => {
    expect(problemsOf(() => load({}, undefined))).toEqual([
      "f.yaml: istio.fromCluster is read by serve, from its cluster; for this command export the ConfigMaps (kubectl get cm -o yaml) and pass them with --istio-values and --mesh-config",
    ]);
  });
});
