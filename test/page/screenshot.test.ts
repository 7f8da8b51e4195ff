/**
 * The README's screenshot of the page (docs/images/preview-page.png, written by the browser suite
 * with UPDATE_SCREENSHOT=1): shown on the front page, small enough to keep in the repository, and a
 * real picture of the page (many colours, not blank).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { colourStats, decodePng } from "../support/png.js";

const ROOT = join(import.meta.dirname, "..", "..");
const SCREENSHOT = "docs/images/preview-page.png";

describe(SCREENSHOT, () => {
  it("is shown in the README", () => {
    expect(readFileSync(join(ROOT, "README.md"), "utf8")).toContain(`](${SCREENSHOT})`);
  });

  it("is under 200 KB, and a picture with content", () => {
    expect(statSync(join(ROOT, SCREENSHOT)).size).toBeLessThan(200 * 1024);
    const png = decodePng(readFileSync(join(ROOT, SCREENSHOT)));
    expect(png.width).toBeGreaterThanOrEqual(800);
    const stats = colourStats(png);
    expect(stats.distinctColours).toBeGreaterThan(50);
    expect(stats.brightnessStdDev).toBeGreaterThan(10);
  });
});
