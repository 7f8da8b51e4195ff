/**
 * Watch the config file and hand over each valid new version. A mounted ConfigMap changes by an
 * atomic symlink swap in its folder, so the folder is watched, not the file. An invalid version is
 * logged (every problem) and the current configuration stays in force.
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { ConfigError } from "../errors.js";
import { watchFolder } from "../watch-folder.js";
import type { Config } from "./config.js";

export interface ConfigWatchOptions {
  readonly path: string;
  /** Build a config from the file's text (throws ConfigError). */
  readonly build: (text: string) => Config;
  readonly onChange: (config: Config) => void;
  /** Called when a new version is refused (its problems are logged too). */
  readonly onRejected?: (problems: readonly string[]) => void;
  readonly logger: Logger;
  readonly initialText: string;
  readonly debounceMs?: number;
}

export function watchConfigFile(opts: ConfigWatchOptions): { close(): void } {
  const { logger, path } = opts;
  let lastText = opts.initialText;
  const reload = async (): Promise<void> => {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      logger.warn({ path, err: (err as Error).message }, "config file unreadable; keeping the current configuration");
      return;
    }
    if (text === lastText) return;
    lastText = text;
    try {
      const config = opts.build(text);
      opts.onChange(config);
      logger.info({ path }, "configuration reloaded");
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      logger.error({ path, problems }, "new configuration rejected; keeping the current one");
      opts.onRejected?.(problems);
    }
  };
  return watchFolder(dirname(path), opts.debounceMs ?? 200, reload, logger, "config file");
}
