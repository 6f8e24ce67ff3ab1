// The page's inference: ONNX Runtime Web (WebAssembly) runs a model whose sha256 was checked first.
//
//   import { loadModel } from "./model.js";
//   const model = await loadModel(site.variants[0], site.input);   // fetch, check, compile
//   const probabilities = await model.predict(pixels, n);          // n 28x28 uint8 images in a row
//
// Pixels become the model input through the same table as the Python Predictor (pixels / 255 in
// float32), so the browser and native ONNX Runtime see bit-identical inputs.
import * as ort from "./ort/ort.wasm.min.mjs";

const PIXELS = Float32Array.from({ length: 256 }, (_, v) => v / 255);

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

class ModelError extends Error {
  constructor(path, reason) {
    super(`${path}: ${reason}`);
    this.name = "ModelError";
  }
}

async function sha256(bytes) {
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
  // As the Python Predictor, a model must run once to be loaded; and that first run, slower, is
  // not the visitor's.
  try {
    await model.predict(new Uint8Array(model.imageShape.reduce((a, b) => a * b)), 1);
  } catch (e) {
    throw new ModelError(entry.path, `loads but fails to run (${e.message.split("\n")[0]})`);
  }
  return model;
}

class Model {
  #queue = Promise.resolve(); // one run at a time: a session's runs must not overlap
  #input = null; // the last input tensor, reused while the batch size stays the same

  constructor(entry, session, imageShape) {
    this.entry = entry;
    this.session = session;
    this.imageShape = imageShape; // e.g. [28, 28] or [28, 28, 1]
  }

  // Probabilities (n x classes, row-major) for n images of 784 uint8 pixels each.
  predict(pixels, n) {
    const result = this.#queue.then(() => this.#run(pixels, n));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #run(pixels, n) {
    if (this.#input?.dims[0] !== n) {
      this.#input = new ort.Tensor("float32", new Float32Array(pixels.length), [n, ...this.imageShape]);
    }
    const x = this.#input.data;
    for (let i = 0; i < pixels.length; i++) x[i] = PIXELS[pixels[i]];
    const outputs = await this.session.run({ [this.session.inputNames[0]]: this.#input });
    return outputs[this.session.outputNames[0]].data;
  }
}
