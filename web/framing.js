// Find the object in decoded pixels and frame it as Fashion-MNIST was made: runtime/framing.py,
// step for step, for the page (its test compares the two on the same files).
//
//   import { frame } from "./framing.js";
//   const x = frame(image, "shirt.jpg");  // {data, width, height, channels: 1 | 3} uint8 -> 784 uint8
//
// The Python module's docstring explains the steps and the constants. Pillow's box reduction, box
// blur and Lanczos resize are ported from its C code (same integer rounding, same coefficients),
// and arrays are float32 where numpy's are, so most 28x28 results are the Python ones to the pixel.

export const SIZE = 28;
const WORK_EDGE = 256;
const BAND = 1 / 40;
const MIN_CONTRAST = 16;
const TRIM = 0.1;
const NOISE = 3;
const BLACK = 16;
const SPECK = 0.01;
const BLUR = 1 / 200;
const f32 = Math.fround;

class FramingError extends Error {
  constructor(name, reason) {
    super(`${name}: ${reason}`);
    this.name = "FramingError";
  }
}

// The (28 x 28) uint8 model input, row-major, for decoded uint8 pixels (channels 1 or 3, interleaved).
export function frame(image, name) {
  if (image.width === SIZE && image.height === SIZE && image.channels === 1 && blackBorder(image.data)) {
    checkContrast(Math.max(...image.data), 0, name);
    return image.data.slice();
  }
  const work = reduce(image, Math.ceil(Math.max(image.width, image.height) / WORK_EDGE));
  const radius = pyRound(Math.max(work.width, work.height) * BLUR);
  const x = floats(work);
  const smooth = floats(boxBlur(work, radius)); // the object is found on smooth, drawn from x
  const ring = makeRing(x, radius);
  const background = fitBackground(smooth, ring);
  const found = intensity(smooth, background);
  const strongest = max(found);
  const noise = median(select(found, ring));
  checkContrast(strongest, noise, name);
  const drawn = intensity(x, background);
  const floor = median(select(drawn, ring)); // the background's noise is not object
  const levels = plane(x.width, x.height, drawn.data.map((v) => Math.max(v - floor, 0)));
  if (x.width === SIZE && x.height === SIZE) return stretched(resized(levels, SIZE, SIZE), levels);
  const trim = f32(Math.max(TRIM * strongest, NOISE * noise));
  const crop = cut(levels, objectBox(excess(found, trim), radius)); // the blur widens the box a little,
  return fit(cut(crop, objectBox(excess(crop, trim), 0))); // the sharp pixels narrow it
}

function checkContrast(strongest, noise, name) {
  if (strongest >= Math.max(MIN_CONTRAST, NOISE * noise)) return;
  const own = NOISE * noise > MIN_CONTRAST ? `, within the background's own variation (${(NOISE * noise).toFixed(0)})` : "";
  throw new FramingError(
    name,
    `nothing stands out from the background: the image differs from it by ${strongest.toFixed(0)} grey levels at most${own}`,
  );
}

function blackBorder(grey) {
  let black = 0;
  let count = 0;
  for (let i = 0; i < SIZE * SIZE; i++) {
    const row = Math.floor(i / SIZE);
    const col = i % SIZE;
    if (row === 0 || row === SIZE - 1 || col === 0 || col === SIZE - 1) {
      count++;
      if (grey[i] < BLACK) black++;
    }
  }
  return black * 5 >= count;
}

// Python's round() and numpy's rint(): halves to even.
function pyRound(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// An image of float32 values: {width, height, channels, data}.
function plane(width, height, data, channels = 1) {
  return { width, height, channels, data };
}

function floats(image) {
  return plane(image.width, image.height, Float32Array.from(image.data), image.channels);
}

function max(image) {
  return image.data.reduce((a, b) => Math.max(a, b), -Infinity);
}

// numpy's np.sort(a, axis=0)[n // 2]: the upper median of each channel.
function median(values, channels = 1) {
  const n = values.length / channels;
  const out = [];
  for (let c = 0; c < channels; c++) {
    const column = new Float32Array(n);
    for (let i = 0; i < n; i++) column[i] = values[i * channels + c];
    column.sort();
    out.push(column[Math.floor(n / 2)]);
  }
  return channels === 1 ? out[0] : out;
}

// The values of image at the pixels where mask is set, channels interleaved.
function select(image, mask) {
  const c = image.channels;
  const out = new Float32Array(mask.reduce((n, m) => n + m, 0) * c);
  for (let p = 0, i = 0; p < mask.length; p++) {
    for (let k = 0; mask[p] && k < c; k++) out[i++] = image.data[p * c + k];
  }
  return out;
}

// Pillow's Image.reduce(factor): the mean of each factor x factor box (fewer pixels at the right
// and bottom edges), rounded as its C code rounds.
export function reduce(image, factor) {
  if (factor <= 1) return image;
  const { width, height, channels } = image;
  const w = Math.ceil(width / factor);
  const h = Math.ceil(height / factor);
  const out = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    const y0 = y * factor;
    const y1 = Math.min(y0 + factor, height);
    for (let x = 0; x < w; x++) {
      const x0 = x * factor;
      const x1 = Math.min(x0 + factor, width);
      const count = (y1 - y0) * (x1 - x0);
      const multiplier = Math.floor(f32(2 ** 32 / (256 * count)));
      for (let c = 0; c < channels; c++) {
        let sum = Math.floor(count / 2);
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) sum += image.data[(yy * width + xx) * channels + c];
        }
        out[(y * w + x) * channels + c] = Math.floor((sum * multiplier) / 2 ** 24);
      }
    }
  }
  return { width: w, height: h, channels, data: out };
}

// Pillow's ImageFilter.BoxBlur(radius): a box of 2 radius + 1 pixels along rows, then columns, the
// edge pixels repeated beyond the edges, in its 24-bit fixed point.
function boxBlur(image, radius) {
  if (!radius) return image;
  const { width, height, channels } = image;
  const rows = new Uint8Array(image.data.length);
  const out = new Uint8Array(image.data.length);
  for (let y = 0; y < height; y++) {
    for (let c = 0; c < channels; c++) {
      const start = y * width * channels + c;
      blurLine(image.data, rows, start, channels, width, radius);
    }
  }
  for (let x = 0; x < width; x++) {
    for (let c = 0; c < channels; c++) blurLine(rows, out, x * channels + c, width * channels, height, radius);
  }
  return { width, height, channels, data: out };
}

// One line of n values at start, start + step, ...: Pillow's ImagingLineBoxBlur8.
function blurLine(input, output, start, step, n, radius) {
  const line = new Int32Array(n);
  for (let i = 0; i < n; i++) line[i] = input[start + i * step];
  const last = n - 1;
  const ww = Math.floor(f32(2 ** 24 / (radius * 2 + 1)));
  const fw = Math.floor((2 ** 24 - (radius * 2 + 1) * ww) / 2);
  const edgeA = Math.min(radius + 1, n);
  const edgeB = Math.max(n - radius - 1, 0);
  let acc = line[0] * (radius + 1);
  for (let x = 0; x < edgeA - 1; x++) acc += line[x];
  acc += line[last] * (radius - edgeA + 1);
  for (let x = 0; x < n; x++) {
    // the pixel leaving the box (the first one while the box overhangs the left edge), the one
    // entering it (the last one once it overhangs the right edge), and the one beyond, weighted fw
    const leaving = x < edgeA ? 0 : x - radius - 1;
    const entering = Math.min(x + radius, last);
    const beyond = Math.min(x + radius + 1, last);
    acc += line[entering] - line[leaving];
    output[start + x * step] = Math.floor((acc * ww + (line[leaving] + line[beyond]) * fw + 2 ** 23) / 2 ** 24);
  }
}

// The border band, inset pixels from the edge (where a blur of that radius averages less).
function makeRing(image, inset) {
  const { width, height } = image;
  const band = Math.max(1, pyRound(Math.min(width, height) * BAND));
  const ring = new Uint8Array(width * height);
  const whole = Math.min(width, height) <= 2 * (inset + band);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const outer = y >= inset && y < height - inset && x >= inset && x < width - inset;
      const inner = y >= inset + band && y < height - inset - band && x >= inset + band && x < width - inset - band;
      ring[y * width + x] = whole || (outer && !inner) ? 1 : 0;
    }
  }
  return ring;
}

// numpy's linspace(-1, 1, n, dtype=float32).
function linspace(n) {
  const step = 2 / (n - 1);
  return Float32Array.from({ length: n }, (_, i) => (i === 0 ? -1 : i === n - 1 ? 1 : -1 + i * step));
}

// The background behind every pixel: a quadratic surface per channel fitted to the ring, robustly
// (from the median, refitted three times on the pixels near the fit).
function fitBackground(image, ring) {
  const { width, height, channels } = image;
  const u = linspace(width);
  const v = linspace(height);
  const values = select(image, ring); // n x channels
  const n = values.length / channels;
  const design = new Float32Array(n * TERMS); // n x [1, u, v, uu, uv, vv]
  for (let p = 0, i = 0; p < ring.length; p++) {
    if (!ring[p]) continue;
    const uu = u[p % width];
    const vv = v[Math.floor(p / width)];
    design[i++] = 1;
    design[i++] = uu;
    design[i++] = vv;
    design[i++] = uu * uu;
    design[i++] = uu * vv;
    design[i++] = vv * vv;
  }
  let coef = new Float32Array(TERMS * channels); // TERMS x channels
  coef.set([median(values, channels)].flat());
  const residual = new Float32Array(channels);
  const distance = new Float32Array(n);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < channels; c++) {
        let fitted = 0;
        for (let k = 0; k < TERMS; k++) fitted += design[i * TERMS + k] * coef[k * channels + c];
        residual[c] = values[i * channels + c] - fitted;
      }
      distance[i] = rms(residual);
    }
    const limit = 3 * median(distance) + 1;
    coef = leastSquares(design, values, channels, (i) => distance[i] <= limit);
  }
  return surface(coef, u, v, channels);
}

const TERMS = 6; // of the quadratic surface

// The surface at every pixel, in numpy's order of operations, each rounded to float32 as there.
function surface(coef, u, v, channels) {
  const [width, height] = [u.length, v.length];
  const out = new Float32Array(width * height * channels);
  for (let c = 0; c < channels; c++) {
    const [a, b, d, e, g, h] = Array.from({ length: TERMS }, (_, k) => coef[k * channels + c]);
    for (let y = 0; y < height; y++) {
      const vd = f32(v[y] * d);
      const vvh = f32(f32(v[y] * v[y]) * h);
      for (let x = 0; x < width; x++) {
        const s = f32(f32(f32(a + f32(u[x] * b)) + vd) + f32(f32(u[x] * u[x]) * e));
        out[(y * width + x) * channels + c] = f32(f32(s + f32(f32(u[x] * v[y]) * g)) + vvh);
      }
    }
  }
  return plane(width, height, out, channels);
}

// The TERMS x channels coefficients minimising |design coef - values| over the rows taken, by the
// normal equations (TERMS x TERMS), solved by Gaussian elimination with partial pivoting.
function leastSquares(design, values, channels, taken) {
  const a = Array.from({ length: TERMS }, () => new Float64Array(TERMS));
  const b = Array.from({ length: TERMS }, () => new Float64Array(channels));
  for (let r = 0; r < design.length / TERMS; r++) {
    if (!taken(r)) continue;
    for (let i = 0; i < TERMS; i++) {
      const di = design[r * TERMS + i];
      for (let j = 0; j < TERMS; j++) a[i][j] += di * design[r * TERMS + j];
      for (let c = 0; c < channels; c++) b[i][c] += di * values[r * channels + c];
    }
  }
  for (let col = 0; col < TERMS; col++) {
    let pivot = col;
    for (let r = col + 1; r < TERMS; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    [a[col], a[pivot], b[col], b[pivot]] = [a[pivot], a[col], b[pivot], b[col]];
    if (Math.abs(a[col][col]) < 1e-9) continue; // a direction the ring does not span: left at 0
    for (let r = 0; r < TERMS; r++) {
      const ratio = r === col ? 0 : a[r][col] / a[col][col];
      for (let k = col; k < TERMS; k++) a[r][k] -= ratio * a[col][k];
      for (let c = 0; c < channels; c++) b[r][c] -= ratio * b[col][c];
    }
  }
  const coef = new Float32Array(TERMS * channels);
  for (let i = 0; i < TERMS; i++) {
    for (let c = 0; c < channels; c++) coef[i * channels + c] = Math.abs(a[i][i]) < 1e-9 ? 0 : b[i][c] / a[i][i];
  }
  return coef;
}

// Root mean square over the channels of one pixel, in float32 as numpy's einsum.
function rms(a) {
  if (a.length === 1) return Math.abs(a[0]);
  let sum = 0;
  for (let c = 0; c < a.length; c++) sum = f32(sum + f32(a[c] * a[c]));
  return f32(Math.sqrt(f32(sum * f32(1 / a.length))));
}

// How far each pixel is from the background, in grey levels.
function intensity(image, background) {
  const c = image.channels;
  const out = new Float32Array(image.width * image.height);
  const difference = new Float32Array(c);
  for (let p = 0; p < out.length; p++) {
    for (let k = 0; k < c; k++) difference[k] = image.data[p * c + k] - background.data[p * c + k];
    out[p] = rms(difference);
  }
  return plane(image.width, image.height, out);
}

function excess(image, trim) {
  return plane(image.width, image.height, image.data.map((v) => Math.max(f32(v - trim), 0)));
}

// The rows and columns holding the object (see runtime/framing.py's _object_box).
function objectBox(image, inset) {
  const { width, height, data } = image;
  if (!data.some((v) => v > 0)) return [0, height, 0, width];
  let inner = new Float32Array(data.length);
  for (let y = inset; y < height - inset; y++) {
    for (let x = inset; x < width - inset; x++) inner[y * width + x] = data[y * width + x];
  }
  if (!inner.some((v) => v > 0)) {
    inner = data;
    inset = 0;
  }
  const rows = new Float32Array(height);
  const cols = new Float32Array(width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      rows[y] += inner[y * width + x];
      cols[x] += inner[y * width + x];
    }
  }
  const span = (mass, n) => {
    const heaviest = Math.max(...mass);
    const found = [...mass.keys()].filter((i) => mass[i] > f32(SPECK * heaviest));
    const first = found[0] <= inset ? 0 : found[0];
    const last = found.at(-1) >= n - 1 - inset ? n - 1 : found.at(-1);
    return [first, last + 1];
  };
  return [...span(rows, height), ...span(cols, width)];
}

function cut(image, [top, bottom, left, right]) {
  const width = right - left;
  const out = new Float32Array(width * (bottom - top));
  for (let y = top; y < bottom; y++) out.set(image.data.subarray(y * image.width + left, y * image.width + right), (y - top) * width);
  return plane(width, bottom - top, out);
}

// Resize the object's longest edge to 28 and centre it on black.
function fit(crop) {
  const longest = Math.max(crop.width, crop.height);
  const width = Math.max(1, pyRound((crop.width * SIZE) / longest));
  const height = Math.max(1, pyRound((crop.height * SIZE) / longest));
  const small = resized(crop, width, height);
  const out = new Float32Array(SIZE * SIZE);
  const top = Math.floor((SIZE - height + 1) / 2); // an odd margin: one more above, and left
  const left = Math.floor((SIZE - width + 1) / 2);
  for (let y = 0; y < height; y++) out.set(small.data.subarray(y * width, (y + 1) * width), (top + y) * SIZE + left);
  return stretched(plane(SIZE, SIZE, out), crop);
}

// Pillow's resize of a float image with Image.Resampling.LANCZOS: rows, then columns.
function resized(image, width, height) {
  if (image.width === width && image.height === height) return image;
  const vertical = coefficients(image.height, height);
  const first = vertical.bounds[0][0];
  const last = vertical.bounds.at(-1)[0] + vertical.bounds.at(-1)[1];
  let rows = plane(image.width, last - first, image.data.subarray(first * image.width, last * image.width));
  if (width !== image.width) {
    const horizontal = coefficients(image.width, width);
    const out = new Float32Array(width * rows.height);
    for (let y = 0; y < rows.height; y++) {
      for (let x = 0; x < width; x++) {
        const [xmin, count] = horizontal.bounds[x];
        let sum = 0;
        for (let k = 0; k < count; k++) sum += rows.data[y * rows.width + xmin + k] * horizontal.weights[x][k];
        out[y * width + x] = sum;
      }
    }
    rows = plane(width, rows.height, out);
  }
  if (height === image.height) return rows;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const [ymin, count] = vertical.bounds[y];
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = 0; k < count; k++) sum += rows.data[(ymin - first + k) * width + x] * vertical.weights[y][k];
      out[y * width + x] = sum;
    }
  }
  return plane(width, height, out);
}

function lanczos(x) {
  const sinc = (t) => (t === 0 ? 1 : Math.sin(t * Math.PI) / (t * Math.PI));
  return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

// Pillow's precompute_coeffs: for each output pixel, its first input pixel, their count, weights.
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 3 * filterScale;
  const bounds = [];
  const weights = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const w = Array.from({ length: xmax }, (_, k) => lanczos((k + xmin - center + 0.5) * (1 / filterScale)));
    const total = w.reduce((a, b) => a + b, 0);
    bounds.push([xmin, xmax]);
    weights.push(total === 0 ? w : w.map((x) => x / total));
  }
  return { bounds, weights };
}

// The 28x28 levels as uint8, the brightest pixel at 255; the peak is the lower of the small and
// the large image's (the small one averages noise out, the large one has no Lanczos overshoot).
function stretched(small, large) {
  const scale = f32(255 / Math.max(Math.min(max(small), max(large)), 1e-3));
  return Uint8Array.from(small.data, (v) => pyRound(Math.min(Math.max(f32(v * scale), 0), 255)));
}
