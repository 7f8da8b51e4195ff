/**
 * The tests' PNG reader (test/support/png.ts) against pictures written here with every row filter
 * PNG has, in RGB and RGBA, so the browser suite's "not a blank screenshot" rests on a reader that
 * is right.
 */
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "@jest/globals";
import { colourStats, decodePng } from "../support/png.js";

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  return Buffer.concat([head, body, Buffer.alloc(4)]); // the reader does not check CRCs
}

/** A PNG of `pixels` (rows of channel bytes), each row written with the filter of its index mod 5. */
function encode(width: number, height: number, channels: 3 | 4, pixels: Uint8Array): Buffer {
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  const at = (x: number, y: number) => (x < 0 || y < 0 ? 0 : (pixels[y * stride + x] as number));
  for (let y = 0; y < height; y++) {
    const filter = y % 5;
    raw[y * (stride + 1)] = filter;
    for (let x = 0; x < stride; x++) {
      const [a, b, c] = [at(x - channels, y), at(x, y - 1), at(x - channels, y - 1)];
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter] as number;
      raw[y * (stride + 1) + 1 + x] = (at(x, y) - predicted) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, channels === 3 ? 2 : 6, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

describe("decodePng", () => {
  it.each([3, 4] as const)("reads back every pixel of a picture with every filter (%d channels)", (channels) => {
    const [width, height] = [7, 11];
    const pixels = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37 + (i >> 3) * 101) & 0xff);
    const png = decodePng(encode(width, height, channels, pixels));
    expect({ width: png.width, height: png.height, channels: png.channels }).toEqual({ width, height, channels });
    expect(Buffer.from(png.data).equals(Buffer.from(pixels))).toBe(true);
  });

  it("tells a blank picture from one with content", () => {
    const blank = decodePng(encode(4, 4, 3, new Uint8Array(48).fill(255)));
    expect(colourStats(blank).distinctColours).toBe(1);
    expect(colourStats(blank).brightnessStdDev).toBeCloseTo(0, 3);
    const busy = decodePng(encode(4, 4, 3, Uint8Array.from({ length: 48 }, (_, i) => (i % 3 === 0 ? i * 5 : 0))));
    expect(colourStats(busy).distinctColours).toBe(16);
    expect(colourStats(busy).brightnessStdDev).toBeGreaterThan(5);
  });

  it("refuses what it cannot read", () => {
    expect(() => decodePng(Buffer.from("GIF89a"))).toThrow("not a PNG file");
  });
});
