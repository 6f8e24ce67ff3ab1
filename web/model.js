// The page's inference: ONNX Runtime Web (WebAssembly) runs a model whose sha256 was checked first.
//
//   import { loadModel } from "./model.js";
//   const model = await loadModel(site.variants[0], site.input);   // fetch, check, compile
//   const probabilities = await model.predict(pixels, n);          // n 28x28 uint8 images in a row
//
// Pixels become the model input through the same table as the Python Predictor (pixels / 255 in
// float32), so the browser and native ONNX Runtime see bit-identical inputs.
import * as ort from "./ort/ort.wasm.min.mjs";

export const PIXELS = Float32Array.from({ length: 256 }, (_, v) => v / 255);

ort.env.logLevel = "error";

// Threads need cross-origin isolation (COOP/COEP headers); without it ONNX Runtime runs on one.
// Unless told, it takes half the cores (at most 4) when isolated: the count is known once a model
// has loaded, and can be changed only before.
export function threads() {
  return ort.env.wasm.numThreads;
}

export function useThreads(count) {
  ort.env.wasm.numThreads = count;
}

export class ModelError extends Error {
  constructor(path, reason) {
    super(`${path}: ${reason}`);
    this.name = "ModelError";
  }
}

export async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// entry: {variant, path, bytes, sha256} from site.json; input: {shape} (the model's, batch first).
export async function loadModel(entry, input) {
  let response;
  try {
    response = await fetch(entry.path);
  } catch {
    throw new ModelError(entry.path, "cannot fetch it (offline, and not cached yet)");
  }
  if (!response.ok) throw new ModelError(entry.path, `cannot fetch it (HTTP ${response.status})`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length !== entry.bytes || (await sha256(bytes)) !== entry.sha256) {
    throw new ModelError(entry.path, "checksum mismatch: the file differs from the one this page was built with");
  }
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  } catch (e) {
    throw new ModelError(entry.path, `ONNX Runtime Web cannot load it: ${e.message.split("\n")[0]}`);
  }
  const model = new Model(entry, session, input.shape.slice(1));
  try {
    await model.predict(new Uint8Array(784), 1); // as the Python Predictor: a model must run, and
  } catch (e) { //                                  the first run, which compiles, is not the user's
    throw new ModelError(entry.path, `loads but fails to run (${e.message.split("\n")[0]})`);
  }
  return model;
}

class Model {
  constructor(entry, session, imageShape) {
    this.entry = entry;
    this.session = session;
    this.imageShape = imageShape;  // e.g. [28, 28] or [28, 28, 1]
  }

  // Probabilities (n x classes, row-major) for n images of 784 uint8 pixels each.
  async predict(pixels, n) {
    const x = new Float32Array(pixels.length);
    for (let i = 0; i < pixels.length; i++) x[i] = PIXELS[pixels[i]];
    const input = new ort.Tensor("float32", x, [n, ...this.imageShape]);
    const outputs = await this.session.run({ [this.session.inputNames[0]]: input });
    return outputs[this.session.outputNames[0]].data;
  }
}
