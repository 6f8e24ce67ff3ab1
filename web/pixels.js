// An image file to the pixels runtime/images.py would decode from it, for framing.js.
//
//   import { decode } from "./pixels.js";
//   const image = await decode(file, file.name);  // {data, width, height, channels: 1 | 3} uint8
//
// The browser decodes (PNG, JPEG, WebP, GIF, BMP, whatever it knows) with the file's EXIF
// orientation applied and no colour conversion, as Pillow gives the stored values. As in Python:
// a JPEG large enough is first reduced by 2, 4 or 8 (Pillow's draft mode); transparent pixels are
// put over black or white, whichever contrasts with the opaque ones; an image whose channels are
// all equal is greyscale; more than MAX_PIXELS is refused.
import { reduce } from "./framing.js";

const MAX_PIXELS = 25_000_000;
const DRAFT_EDGE = 256; // a large JPEG is reduced while both edges stay at least this long

class ImageError extends Error {
  constructor(name, reason) {
    super(`${name}: ${reason}`);
    this.name = "ImageError";
  }
}

export async function decode(blob, name) {
  if (blob.size === 0) throw new ImageError(name, "an empty file, not an image");
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw new ImageError(name, "not an image this browser can decode (PNG, JPEG, WebP, GIF, BMP)");
  }
  const { width, height } = bitmap;
  if (width * height > MAX_PIXELS) {
    bitmap.close();
    throw new ImageError(name, `too large: ${width}x${height} pixels; the limit is ${MAX_PIXELS / 1e6} megapixels (shrink it first)`);
  }
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const image = oneChannelIfGrey(withoutAlpha(rgba), width, height);
  return (await isJpeg(blob)) ? reduce(image, draftScale(width, height)) : image;
}

async function isJpeg(blob) {
  const head = new Uint8Array(await blob.slice(0, 3).arrayBuffer());
  return head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
}

// Pillow's JPEG draft for a requested size of 256x256: the largest of 8, 4, 2 that both edges allow.
function draftScale(width, height) {
  const scale = Math.min(Math.floor(width / DRAFT_EDGE), Math.floor(height / DRAFT_EDGE));
  return [8, 4, 2, 1].find((s) => scale >= s) ?? 1;
}

// RGB (3 bytes a pixel): opaque pixels as they are, the others over black or white, whichever
// contrasts with the opaque ones (a dark shoe cut out on transparency stays visible).
function withoutAlpha(rgba) {
  const n = rgba.length / 4;
  const rgb = new Uint8Array(n * 3);
  let weight = 0;
  let weighted = 0;
  for (let p = 0; p < n; p++) {
    const [r, g, b, a] = [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2], rgba[4 * p + 3]];
    rgb[3 * p] = r;
    rgb[3 * p + 1] = g;
    rgb[3 * p + 2] = b;
    weight += a;
    weighted += a * ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16); // Pillow's convert("L")
  }
  if (weight === 255 * n) return rgb;
  if (weight === 0) return rgb.fill(0);
  const level = weighted / weight > 127 ? 0 : 255;
  for (let p = 0; p < n; p++) {
    const a = rgba[4 * p + 3];
    for (let c = 0; c < 3; c++) rgb[3 * p + c] = Math.round((rgba[4 * p + c] * a + level * (255 - a)) / 255);
  }
  return rgb;
}

function oneChannelIfGrey(rgb, width, height) {
  const n = width * height;
  for (let p = 0; p < n; p++) {
    if (rgb[3 * p] !== rgb[3 * p + 1] || rgb[3 * p] !== rgb[3 * p + 2]) return { width, height, channels: 3, data: rgb };
  }
  const grey = new Uint8Array(n);
  for (let p = 0; p < n; p++) grey[p] = rgb[3 * p];
  return { width, height, channels: 1, data: grey };
}
