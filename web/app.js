// The page: choose or drop an image; it is decoded (pixels.js), framed as runtime.predict frames
// it (framing.js) and classified by the chosen ONNX variant (model.js), all in this tab.
// body[data-state] says where it is (loading, ready, done, error), for people and for tests.
import { frame, SIZE } from "./framing.js";
import { loadModel, threads, useThreads } from "./model.js";
import { decode } from "./pixels.js";

const TOP = 3;
const READY = "model ready"; // a performance mark, for make bench-web
const page = Object.fromEntries(
  ["drop", "file", "message", "result", "photo", "framed", "top", "details", "variant", "engine"].map((id) => [
    id,
    document.getElementById(id),
  ]),
);
let site;
let model;

function state(name) {
  document.body.dataset.state = name;
}

// One clear message on the page for anything that goes wrong (a bad file, a damaged model).
function fail(error) {
  page.message.textContent = error.message;
  page.message.hidden = false;
  page.result.hidden = true;
  page.details.textContent = "";
  state("error");
}

async function choose(entry) {
  state("loading");
  model = null;
  page.engine.textContent = `loading ${entry.variant}…`;
  model = await loadModel(entry, site.input);
  const isolated = globalThis.crossOriginIsolated ? "cross-origin isolated" : "not cross-origin isolated";
  page.engine.textContent = `${site.engine.name} ${site.engine.version}, WebAssembly, ${threads()} thread(s), ${isolated}`;
  page.message.hidden = true;
  performance.mark(READY); // from the page's start to a model that has run once: what a visitor waits
  state("ready");
}

async function classify(file) {
  if (!model) return;
  state("loading");
  page.message.hidden = true;
  const started = performance.now();
  const image = frame(await decode(file, file.name), file.name);
  const framed = performance.now();
  const probabilities = await model.predict(image, 1);
  const inference = performance.now() - framed;
  show(file, image, probabilities);
  page.details.textContent =
    `${model.entry.variant} (sha256 ${model.entry.sha256.slice(0, 12)}): ` +
    `inference ${inference.toFixed(3)} ms, decoding and framing ${(framed - started).toFixed(1)} ms`;
  state("done");
}

function show(file, image, probabilities) {
  URL.revokeObjectURL(page.photo.src);
  page.photo.src = URL.createObjectURL(file);
  const rgba = new ImageData(SIZE, SIZE);
  image.forEach((v, i) => rgba.data.set([v, v, v, 255], i * 4));
  page.framed.getContext("2d").putImageData(rgba, 0, 0);
  const ranked = [...probabilities.keys()].sort((a, b) => probabilities[b] - probabilities[a]).slice(0, TOP);
  page.top.replaceChildren(
    ...ranked.map((k) => {
      const item = document.createElement("li");
      const name = Object.assign(document.createElement("span"), { className: "name", textContent: site.classes[k] });
      const share = Object.assign(document.createElement("span"), {
        className: "probability",
        textContent: ` ${(100 * probabilities[k]).toFixed(1)}%`,
      });
      const bar = Object.assign(document.createElement("progress"), { max: 1, value: probabilities[k] });
      item.append(name, share, bar);
      return item;
    }),
  );
  page.result.hidden = false;
}

function run(task) {
  task().catch(fail);
}

function listen() {
  page.file.addEventListener("change", () => page.file.files[0] && run(() => classify(page.file.files[0])));
  page.drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    page.drop.classList.add("over");
  });
  page.drop.addEventListener("dragleave", () => page.drop.classList.remove("over"));
  page.drop.addEventListener("drop", (event) => {
    event.preventDefault();
    page.drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) run(() => classify(file));
  });
  page.variant.addEventListener("change", () => run(() => choose(site.variants[page.variant.selectedIndex])));
}

// ?variant=NAME: another variant than the first; ?threads=N: more than ONNX Runtime chooses.
async function start() {
  const asked = new URLSearchParams(location.search);
  if (asked.has("threads")) useThreads(Number(asked.get("threads")));
  site = await fetch("site.json")
    .then((response) => response.json())
    .catch(() => Promise.reject(new Error("site.json: cannot fetch it (offline, and not cached yet)")));
  page.variant.replaceChildren(
    ...site.variants.map((v) => Object.assign(document.createElement("option"), { textContent: v.variant })),
  );
  page.variant.selectedIndex = Math.max(0, site.variants.findIndex((v) => v.variant === asked.get("variant")));
  listen();
  await choose(site.variants[page.variant.selectedIndex]);
  // Offline use: cache the site once the model has loaded (not competing with it). A browser
  // without service workers, or a page not served over HTTPS or from this machine, goes without.
  await navigator.serviceWorker?.register(`sw.js?v=${site.version}`).catch(() => {});
}

run(start);
