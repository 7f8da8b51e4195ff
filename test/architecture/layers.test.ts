/**
 * The core (injection, config, validation) is called by the webhook, the preview, the CLI and the
 * audit, and calls none of them: no module of it imports from a layer above it.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "@jest/globals";

const SRC = join(import.meta.dirname, "..", "..", "src");
const CORE = ["injection", "config", "validation"];
const ABOVE = ["admission", "http", "preview", "explain", "audit", "kube", "tls", "rollout"];
/** The rollout's planner, status rules and executor: pure or IO through an interface, no client. */
const ROLLOUT_CORE = ["plan.ts", "status.ts", "execute.ts"];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [join(dir, e.name)] : [],
  );
}

describe("layers", () => {
  it.each(CORE)("src/%s imports nothing from the layers that call it", (layer) => {
    const files = sources(join(SRC, layer));
    expect(files.length).toBeGreaterThan(0);
    const upward = files.flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/from "(\.\.\/[^"]+)"/g)]
        .map((m) => m[1] as string)
        .filter((spec) => ABOVE.some((l) => spec.startsWith(`../${l}/`)))
        .map((spec) => `${relative(SRC, file)} → ${spec}`),
    );
    expect(upward).toEqual([]);
  });

  it.each(ROLLOUT_CORE)("src/rollout/%s reads no cluster, file or process itself (a later in-server reconciler reuses it)", (file) => {
    const text = readFileSync(join(SRC, "rollout", file), "utf8");
    const imports = [...text.matchAll(/from "([^"]+)"/g)].map((m) => m[1] as string);
    expect(imports.filter((spec) => spec.startsWith("../kube/") || spec.startsWith("../http/") || spec.startsWith("node:") || spec.startsWith("@kubernetes/") || spec === "./command.js")).toEqual([]);
    expect(text).not.toMatch(/process\.(env|stdout|stderr)/);
  });
});
