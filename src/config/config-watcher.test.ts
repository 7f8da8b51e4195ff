import { mkdirSync, mkdtempSync, rmSync, symlinkSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import type { Config } from "./config.js";
import { watchConfigFile } from "./config-watcher.js";
import { loadConfig, parseConfigText } from "./load-config.js";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const build = (text: string): Config => loadConfig({ env: {}, file: { content: parseConfigText(text, "config.yaml"), source: "config.yaml" } });

async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  for (let t = 0; t < ms && !check(); t += 20) await new Promise((r) => setTimeout(r, 20));
}

/** Lay out a folder like a mounted ConfigMap: config.yaml -> ..data/config.yaml, ..data -> ..<version>. */
function configMapVersion(root: string, version: string, text: string): void {
  const versionDir = join(root, `..${version}`);
  mkdirSync(versionDir);
  writeFileSync(join(versionDir, "config.yaml"), text);
  const tmpLink = join(root, "..data_tmp");
  symlinkSync(`..${version}`, tmpLink);
  renameSync(tmpLink, join(root, "..data")); // atomic swap, as the kubelet does
}

describe("watchConfigFile", () => {
  it("applies a valid new version swapped in like a ConfigMap, and rejects an invalid one", async () => {
    dir = mkdtempSync(join(tmpdir(), "cm-"));
    configMapVersion(dir, "v1", "revision: one\n");
    symlinkSync("..data/config.yaml", join(dir, "config.yaml"));
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const applied: string[] = [];
    const w = watchConfigFile({
      path: join(dir, "config.yaml"),
      initialText: "revision: one\n",
      build,
      onChange: (c) => applied.push(c.revision),
      logger,
      debounceMs: 20,
    });

    configMapVersion(dir, "v2", "revision: two\n");
    await waitFor(() => applied.length === 1);
    expect(applied).toEqual(["two"]);

    configMapVersion(dir, "v3", "revision: three\nsidecar:\n  image: 'bad image'\n");
    await waitFor(() => lines.some((l) => l.msg === "new configuration rejected; keeping the current one"));
    w.close();
    expect(applied).toEqual(["two"]);
    const rejected = lines.find((l) => l.msg === "new configuration rejected; keeping the current one");
    expect(rejected?.problems).toEqual([expect.stringContaining("sidecar.image must be a container image reference")]);
  });
});
