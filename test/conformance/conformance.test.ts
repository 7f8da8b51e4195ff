/**
 * The conformance runner (test/conformance): its reading of Istio's TestInjection and its
 * normalisation are tested here on their own; with ISTIO_SRC pointing at an Istio checkout (a work
 * tree or a bare git directory, ref ISTIO_REF or 1.30.3) every case is run and docs/compatibility.md's
 * "Compatibility with Istio 1.30" table must say, case by case, what the run finds.
 * `npm run conformance -- --istio-src DIR` prints the full report.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { compareTemplates } from "./compare.js";
import type { IstioCheckout } from "./istio-checkout.js";
import { openCheckout } from "./istio-checkout.js";
import { TESTDATA, TEST_FILE, readIstioCases } from "./istio-cases.js";
import { type CaseVerdict, figuresOf, runConformance } from "./runner.js";

function fakeCheckout(files: Record<string, string>): IstioCheckout {
  return {
    ref: "test",
    read: (path) => files[path],
    list: (folder) =>
      Object.keys(files)
        .filter((p) => p.startsWith(`${folder}/`))
        .map((p) => p.slice(folder.length + 1)),
  };
}

const GO_TEST = `
func TestInjection(t *testing.T) {
	cases := []testCase{
		// a comment with { braces }
		{
			in:   "hello.yaml",
			want: "hello.yaml.cni.injected",
			setFlags: []string{
				"components.cni.enabled=true",
				\`values.global.proxy.excludeInboundPorts=4,5,6\`,
				"values.global.proxy.statusPort=0",
			},
		},
		{
			in:   "hello.yaml",
			want: "hello-tproxy.yaml.injected",
			mesh: func(m *meshapi.MeshConfig) {
				m.DefaultConfig.InterceptionMode = meshapi.ProxyConfig_TPROXY
				m.DefaultConfig.DrainDuration = durationpb.New(time.Second * 23)
				if m.DefaultConfig.ProxyMetadata == nil {
					m.DefaultConfig.ProxyMetadata = map[string]string{}
				}
				m.DefaultConfig.ProxyMetadata["FOO"] = "bar"
				m.DefaultConfig.Tracing = &meshapi.Tracing{}
			},
		},
		{
			in:   "hello.yaml",
			want: "hello-old-version.yaml.injected",
			setup: func(t test.Failer) {
				test.SetForTest(t, &features.EnableNativeSidecars, features.NativeSidecarModeDisabled)
			},
		},
		{
			in:            "bad.yaml",
			expectedError: "excludeipranges",
		},
		{
			in:         "hello.yaml",
			want:       "hello-secrets.yaml.injected",
			inFilePath: "secrets.iop.yaml",
		},
		{
			in:   "hello.yaml",
			want: "hello-weird.yaml.injected",
			mesh: func(m *meshapi.MeshConfig) {
				m.Something = computeIt()
			},
		},
	}
}

func TestOther(t *testing.T) {}
`;

const FILES = {
  [TEST_FILE]: GO_TEST,
  [`${TESTDATA}/hello.yaml`]: "kind: Pod",
  [`${TESTDATA}/hello.yaml.injected`]: "kind: Pod",
  [`${TESTDATA}/extra.yaml`]: "kind: Pod",
  [`${TESTDATA}/extra.yaml.injected`]: "kind: Pod",
  [`${TESTDATA}/secrets.iop.yaml`]: "spec:\n  values:\n    global:\n      imagePullSecrets: [a, b]\n  meshConfig:\n    trustDomain: example.org\n",
};

describe("reading Istio's TestInjection", () => {
  const cases = readIstioCases(fakeCheckout(FILES));
  const byId = new Map(cases.map((c) => [c.id, c]));

  it("finds the table's cases in order, then every other input with a golden", () => {
    expect(cases.map((c) => c.id)).toEqual([
      "[00] hello.yaml.cni.injected",
      "[01] hello-tproxy.yaml.injected",
      "[02] hello-old-version.yaml.injected",
      "[03] bad.yaml",
      "[04] hello-secrets.yaml.injected",
      "[05] hello-weird.yaml.injected",
      "[06] extra.yaml.injected",
      "[07] hello.yaml.injected",
    ]);
  });

  it("reads setFlags as values and components", () => {
    const c = byId.get("[00] hello.yaml.cni.injected");
    expect(c?.settings.components).toEqual({ cni: { enabled: true } });
    expect(c?.settings.values).toEqual({ global: { proxy: { excludeInboundPorts: "4,5,6", statusPort: 0 } } });
    expect(c?.defaultSetup).toBe(false);
  });

  it("reads a mesh function as MeshConfig fields", () => {
    expect(byId.get("[01] hello-tproxy.yaml.injected")?.settings).toMatchObject({
      meshConfig: { defaultConfig: { interceptionMode: "TPROXY", drainDuration: "23s", proxyMetadata: { FOO: "bar" }, tracing: {} } },
      unread: [],
    });
  });

  it("reads the native sidecar switch, the expected error and the .iop.yaml", () => {
    expect(byId.get("[02] hello-old-version.yaml.injected")?.settings.nativeSidecars).toBe(false);
    expect(byId.get("[03] bad.yaml")).toMatchObject({ expectedError: "excludeipranges", want: undefined, defaultSetup: true });
    expect(byId.get("[04] hello-secrets.yaml.injected")?.settings).toMatchObject({
      values: { global: { imagePullSecrets: ["a", "b"] } },
      meshConfig: { trustDomain: "example.org" },
    });
  });

  it("keeps a Go statement it cannot read, so the case is not run with the wrong settings", () => {
    expect(byId.get("[05] hello-weird.yaml.injected")?.settings.unread).toEqual(["mesh: m.Something = computeIt()"]);
  });

  it("names what is missing", () => {
    expect(() => readIstioCases(fakeCheckout({}))).toThrow(`${TEST_FILE} not found`);
  });
});

describe("comparing a pod template with Istio's", () => {
  const base = {
    metadata: { labels: { app: "a" }, annotations: { "sidecar.istio.io/status": '{"containers":["istio-proxy"],"version":"x"}' } },
    spec: {
      containers: [
        {
          name: "istio-proxy",
          resources: { limits: { cpu: "2", memory: "1Gi" } },
          env: [
            { name: "PROXY_CONFIG", value: "{}\n" },
            { name: "APPS", value: "" },
            { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
          ],
          readinessProbe: { httpGet: { port: 15021 }, initialDelaySeconds: 0 },
        },
      ],
      volumes: [{ name: "b" }, { name: "a", emptyDir: {} }],
    },
  };
  const ours = {
    metadata: { labels: { app: "a" }, annotations: { "sidecar.istio.io/status": '{"containers":["istio-proxy"]}', "sidecar-injector.io/template-hash": "x" } },
    spec: {
      containers: [
        {
          name: "istio-proxy",
          resources: { limits: { cpu: "2000m", memory: "1024Mi" } },
          env: [
            { name: "PROXY_CONFIG", value: '{"discoveryAddress":"istiod.istio-system.svc:15012"}' },
            { name: "APPS" },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          ],
          readinessProbe: { httpGet: { port: 15021 } },
        },
      ],
      volumes: [{ name: "a", emptyDir: {} }, { name: "b", emptyDir: {} }],
    },
  };

  it("reads documented spellings as equal", () => {
    expect(compareTemplates(ours, base).filter((a) => !a.equal)).toEqual([]);
  });

  it.each([
    ["an image", (p: typeof ours) => ((p.spec.containers[0] as Record<string, unknown>).image = "other"), "containers[istio-proxy].image"],
    ["a label", (p: typeof ours) => (p.metadata.labels.app = "b"), "labels"],
    ["the container order", (p: typeof ours) => p.spec.containers.unshift({ name: "app" } as never), "containers (names, in order)"],
    ["a status record", (p: typeof ours) => (p.metadata.annotations["sidecar.istio.io/status"] = '{"containers":[]}'), "status"],
  ])("finds %s that differs", (_name, change, aspect) => {
    const changed = structuredClone(ours);
    change(changed);
    expect(compareTemplates(changed, base).filter((a) => !a.equal).map((a) => a.aspect)).toContain(aspect);
  });
});

const SOURCE = process.env.ISTIO_SRC;
const REF = process.env.ISTIO_REF ?? "1.30.3";
if (!SOURCE) process.stdout.write("conformance against Istio's testdata: SKIPPED — set ISTIO_SRC to an Istio git checkout (ISTIO_REF, default 1.30.3).\n");

/** docs/compatibility.md's table: case id → what it says the run finds. */
function readmeVerdicts(): Map<string, CaseVerdict> {
  const readme = readFileSync(join(import.meta.dirname, "..", "..", "docs", "compatibility.md"), "utf8");
  const out = new Map<string, CaseVerdict>();
  for (const m of readme.matchAll(/^\| `(\[\d+\] [^`]+)` \| (?:default|install) \| (equal|different|not set up|excepted) \|/gm)) {
    out.set(m[1] as string, (m[2] as string).replace(/ /g, "_").replace("not_set_up", "not_set_up") as CaseVerdict);
  }
  return out;
}

(SOURCE ? describe : describe.skip)(`Istio ${REF} injection testdata`, () => {
  const report = SOURCE ? runConformance(openCheckout(SOURCE, REF)) : { ref: REF, results: [] };

  it("docs/compatibility.md's table says what the run finds, case by case", () => {
    const found = Object.fromEntries(report.results.map((r) => [r.case.id, r.verdict]));
    expect(Object.fromEntries(readmeVerdicts())).toEqual(found);
  });

  it("comes out at least as docs/compatibility.md states (cases equal on every aspect, default and install settings)", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "..", "docs", "compatibility.md"), "utf8");
    const stated = /\*\*(\d+) of (\d+) cases equal on every aspect\*\* \(default setup: (\d+) of (\d+); install settings:\s+(\d+) of (\d+)\), (\d+) excepted/.exec(readme);
    expect(stated).not.toBeNull();
    const [all, allTotal, defaults, defaultsTotal, install, installTotal, excepted] = (stated ?? []).slice(1).map(Number);
    const f = figuresOf(report);
    process.stdout.write(`conformance: default ${f.defaults.equal}/${f.defaults.total}, install ${f.install.equal}/${f.install.total}, excepted ${f.excepted}\n`);
    expect({ allTotal: f.all.total, defaultsTotal: f.defaults.total, installTotal: f.install.total, excepted: f.excepted }).toEqual({ allTotal, defaultsTotal, installTotal, excepted });
    expect(f.all.equal).toBeGreaterThanOrEqual(all ?? Number.POSITIVE_INFINITY);
    expect(f.defaults.equal).toBeGreaterThanOrEqual(defaults ?? Number.POSITIVE_INFINITY);
    expect(f.install.equal).toBeGreaterThanOrEqual(install ?? Number.POSITIVE_INFINITY);
  });
});
