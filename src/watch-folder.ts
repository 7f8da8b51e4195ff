/**
 * Watch a folder and call `onSettled` once changes have been quiet for `debounceMs`. Mounted
 * ConfigMaps and Secrets change by an atomic symlink swap inside their folder, so the folder is
 * watched rather than a file. A folder that cannot be watched is logged (changes then need a
 * restart); the caller keeps what it has.
 */
import { type FSWatcher, watch } from "node:fs";
import type { Logger } from "pino";

export interface FolderWatch {
  close(): void;
}

export function watchFolder(
  dir: string,
  debounceMs: number,
  onSettled: () => Promise<void>,
  logger: Logger,
  what: string,
): FolderWatch {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void onSettled(), debounceMs);
    });
    watcher.on("error", (err) => logger.warn({ dir, err: err.message }, `${what} watch failed`));
  } catch (err) {
    logger.warn({ dir, err: (err as Error).message }, `cannot watch the ${what}; changes need a restart`);
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
