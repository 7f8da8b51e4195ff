/**
 * A small PNG reader for the tests (node:zlib only): 8-bit RGB or RGBA, not interlaced — what
 * Chromium writes for a screenshot. Enough to tell a real screenshot from a blank one.
 */
import { inflateSync } from "node:zlib";

export interface Png {
  readonly width: number;
  readonly height: number;
  /** Bytes per pixel: 3 (RGB) or 4 (RGBA). */
  readonly channels: 3 | 4;
  /** The pixels, row by row, without filter bytes. */
  readonly data: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodePng(file: Buffer): Png {
  if (!file.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG file");
  let width = 0;
  let height = 0;
  let channels: 3 | 4 = 4;
  const idat: Buffer[] = [];
  for (let at = 8; at < file.length; ) {
    const length = file.readUInt32BE(at);
    const type = file.toString("latin1", at + 4, at + 8);
    const body = file.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, colour, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`unsupported PNG: bit depth ${depth}, colour type ${colour}, interlace ${interlace}`);
      channels = colour === 2 ? 3 : 4;
    } else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") break;
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const value = raw[src + x] as number;
      const left = x >= channels ? (data[row + x - channels] as number) : 0;
      const up = y > 0 ? (data[row - stride + x] as number) : 0;
      const upLeft = y > 0 && x >= channels ? (data[row - stride + x - channels] as number) : 0;
      const predicted = filter === 0 ? 0 : filter === 1 ? left : filter === 2 ? up : filter === 3 ? (left + up) >> 1 : filter === 4 ? paeth(left, up, upLeft) : Number.NaN;
      if (Number.isNaN(predicted)) throw new Error(`unknown PNG filter ${filter} in row ${y}`);
      data[row + x] = (value + predicted) & 0xff;
    }
  }
  return { width, height, channels, data };
}

/** How many distinct colours a picture has, and the standard deviation of its brightness. */
export function colourStats(png: Png): { distinctColours: number; brightnessStdDev: number } {
  const colours = new Set<number>();
  let sum = 0;
  let sumSquares = 0;
  const pixels = png.width * png.height;
  for (let i = 0; i < pixels; i++) {
    const at = i * png.channels;
    const [r, g, b] = [png.data[at] as number, png.data[at + 1] as number, png.data[at + 2] as number];
    colours.add((r << 16) | (g << 8) | b);
    const brightness = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    sum += brightness;
    sumSquares += brightness * brightness;
  }
  const mean = sum / pixels;
  return { distinctColours: colours.size, brightnessStdDev: Math.sqrt(Math.max(0, sumSquares / pixels - mean * mean)) };
}
