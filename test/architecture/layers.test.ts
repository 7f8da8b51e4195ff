/**
 * Layers import only downward. Each module of src/ has a rank; a module may import from its own
 * rank and below, never above. At the bottom the leaves and the configuration, then the
 * Kubernetes and certificate boundaries, then the pure core (decide → render → inject → diff),
 * then what is built on the core (webhook matching, admission, the audit, the preview, explain),
 * and on top the shells that the outside calls: HTTP, the CLI's commands, the entry points.
 * A command module (`command.ts`, `commands.ts`) is a shell wherever it lives.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "@jest/globals";

const SRC = join(import.meta.dirname, "..", "..", "src");

/** The rank of each top-level module or folder of src/ (lowest first). */
const RANKS: Readonly<Record<string, number>> = {
  // Leaves: no import of anything else of ours.
  errors: 0, "json-values": 0, memo: 0, version: 0, "watch-folder": 0, validation: 0, metrics: 0, memory: 0,
  // Configuration: read and validated once, at the edge; everything above reads it.
  config: 1, log: 1,
  // The Kubernetes boundary and the certificates.
  kube: 2, tls: 3,
  // The pure core.
  injection: 4,
  // Built on the core.
  webhooks: 5, admission: 5,
  audit: 6, preview: 6,
  explain: 7, rollout: 7,
  // Shells.
  http: 9, "command-io": 9, "remote-report": 9, cli: 9, main: 9,
  // The preview page's browser code: compiled apart for the browser (src/page/tsconfig.json), served by http/.
  page: 9,
};
const SHELL = 9;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [join(dir, e.name)] : [],
  );
}

/** The module a file of src/ belongs to: its top folder, or its own name at the top. */
function moduleOf(file: string): string {
  const parts = relative(SRC, file).split("/");
  return parts.length > 1 ? (parts[0] as string) : (parts[0] as string).replace(/\.(ts|js)$/, "");
}

function rankOf(file: string): number | undefined {
  if (/\/commands?\.ts$/.test(file)) return SHELL;
  return RANKS[moduleOf(file)];
}

const files = sources(SRC);

describe("layers", () => {
  it("every module of src/ has a rank", () => {
    expect(files.filter((f) => rankOf(f) === undefined).map((f) => relative(SRC, f))).toEqual([]);
  });

  it("no import runs back up the layers", () => {
    const upward = files.flatMap((file) => {
      const from = rankOf(file) ?? -1;
      return [...readFileSync(file, "utf8").matchAll(/from "(\.\.?\/[^"]+)"/g)].flatMap((m) => {
        const target = resolve(dirname(file), (m[1] as string).replace(/\.js$/, ".ts"));
        const to = rankOf(target) ?? -1;
        return to > from ? [`${relative(SRC, file)} (${from}) → ${relative(SRC, target)} (${to})`] : [];
      });
    });
    expect(upward).toEqual([]);
  });

  // The rollout's planner, status rules and executor: pure, or IO through an interface, so a
  // later in-server reconciler can reuse them.
  it.each(["plan.ts", "status.ts", "execute.ts"])("src/rollout/%s reads no cluster, file or process itself", (file) => {
    const body = readFileSync(join(SRC, "rollout", file), "utf8");
    const imports = [...body.matchAll(/from "([^"]+)"/g)].map((m) => m[1] as string);
    expect(imports.filter((spec) => spec.startsWith("../kube/") || spec.startsWith("../http/") || spec.startsWith("node:") || spec.startsWith("@kubernetes/") || spec === "./command.js")).toEqual([]);
    expect(body).not.toMatch(/process\.(env|stdout|stderr)/);
  });

  it("the check does catch an import upward", () => {
    const config = files.find((f) => relative(SRC, f) === "config/load-config.ts") as string;
    const target = resolve(dirname(config), "../injection/templates.ts");
    expect(rankOf(target)).toBeGreaterThan(rankOf(config) as number);
  });
});
