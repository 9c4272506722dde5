// The page of `idfr serve`: pick or drop an image, see it classified without and with the
// defense, the purified image and what the denoiser removed, then attack it (transfer and adaptive).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: [], model: null, image: null, label: undefined, resize: false, classified: 0, attacked: 0 };

function status(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

async function call(url, init) {
  const res = await fetch(url, init);
  const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

const png = (b64) => `data:image/png;base64,${b64}`;
const pct = (p) => `${(100 * p).toFixed(1)} %`;

function predText(p, truth) {
  const span = document.createElement("span");
  span.textContent = `${p.label} (${pct(p.probability)})`;
  if (truth !== undefined) span.className = p.index === truth ? "ok" : "bad";
  return span;
}

function setPred(el, title, top, truth) {
  el.replaceChildren();
  const b = document.createElement("b");
  b.textContent = `${title}: `;
  el.append(b, predText(top[0], truth));
}

function bytesToBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function loadModels() {
  const { models } = await call("/v1/models");
  state.models = models;
  const select = $("model");
  select.replaceChildren(...models.map((m) => {
    const o = document.createElement("option");
    o.value = m.name;
    o.textContent = `${m.name}${m.defense ? ` (${m.defense})` : ""}`;
    return o;
  }));
  const first = models.find((m) => m.defense) || models[0];
  if (first) select.value = first.name;
  await pickModel();
}

async function pickModel() {
  state.model = state.models.find((m) => m.name === $("model").value);
  const m = state.model;
  $("model-info").textContent = `${m.arch}, input ${m.inputShape.join("x")}, ${m.classes.length} classes${m.defense ? `, defense ${m.defense}` : ", no defense"}`;
  $("run-attack").disabled = true;
  const { samples } = await call(`/v1/models/${encodeURIComponent(m.name)}/samples`);
  const box = $("samples");
  box.replaceChildren(...samples.map((s) => {
    const b = document.createElement("button");
    b.type = "button";
    b.title = s.class;
    b.dataset.index = String(s.index);
    const img = document.createElement("img");
    img.src = png(s.png);
    img.alt = s.class;
    b.append(img);
    b.addEventListener("click", () => {
      for (const other of box.children) other.classList.toggle("picked", other === b);
      useImage(Uint8Array.from(atob(s.png), (c) => c.charCodeAt(0)), s.label, false, png(s.png)).catch((e) => status(e.message, true));
    });
    return b;
  }));
  if (samples.length === 0) status("this model's dataset ships no test images here: drop your own");
}

async function useImage(bytes, label, resize, src) {
  state.image = bytesToBase64(bytes);
  state.label = label;
  state.resize = resize;
  $("img-input").src = src;
  $("attack-table").hidden = true;
  await classify(bytes);
  $("run-attack").disabled = !state.model.defense;
}

async function classify(bytes) {
  const m = state.model;
  status("classifying…");
  const q = new URLSearchParams({ topk: "3" });
  if (m.defense) q.set("purified", "1");
  if (state.resize) q.set("resize", "1");
  const out = await call(`/v1/models/${encodeURIComponent(m.name)}:classify?${q}`, { method: "POST", headers: { "content-type": "image/png" }, body: bytes });
  const r = out.results[0];
  setPred($("pred-plain"), "undefended", r.top_undefended, state.label);
  if (r.top_defended) setPred($("pred-defended"), "defended", r.top_defended, state.label);
  else $("pred-defended").textContent = "no defense";
  $("img-purified").src = r.purified_png ? png(r.purified_png) : "";
  $("img-removed").src = r.removed_png ? png(r.removed_png) : "";
  $("removed-cap").textContent = r.removed_gain ? `what the denoiser removed (x${r.removed_gain.toFixed(1)})` : "what the denoiser removed";
  state.classified++;
  document.body.dataset.classified = String(state.classified);
  status(state.label === undefined ? "classified" : `classified; true class: ${m.classes[state.label]}`);
}

function cell(row, cls, content) {
  const td = $(row).querySelector(`.${cls}`);
  td.replaceChildren(...(content ? [content] : []));
}

function image(b64, kind = "png") {
  const img = document.createElement("img");
  img.src = kind === "png" ? png(b64) : $("img-input").src;
  return img;
}

async function attack() {
  const m = state.model;
  const eps = Number($("eps").value) / 255;
  const method = $("attack").value;
  status(`crafting ${method.toUpperCase()} at ε = ${$("eps").value}/255…`);
  $("run-attack").disabled = true;
  try {
    const body = { image: state.image, attack: method, eps, steps: Number($("steps").value), resize: state.resize };
    if (state.label !== undefined) body.label = state.label;
    const r = await call(`/v1/models/${encodeURIComponent(m.name)}:attack`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const truth = r.label;
    cell("row-clean", "img", image(state.image, state.resize ? "" : "png"));
    cell("row-clean", "u", predText(r.clean.undefended, truth));
    cell("row-clean", "d", predText(r.clean.defended, truth));
    for (const [row, o] of [["row-transfer", r.transfer], ["row-adaptive", r.adaptive]]) {
      cell(row, "img", image(o.image_png));
      cell(row, "pert", image(o.perturbation_png));
      cell(row, "u", predText(o.undefended, truth));
      cell(row, "d", predText(o.defended, truth));
    }
    $("attack-table").hidden = false;
    state.attacked++;
    document.body.dataset.attacked = String(state.attacked);
    status(`${method.toUpperCase()} at ε = ${$("eps").value}/255 against class ${r.label_name}: ${r.seconds.toFixed(2)} s on the server`);
  } finally {
    $("run-attack").disabled = false;
  }
}

function readFile(file) {
  file.arrayBuffer().then((buf) => useImage(new Uint8Array(buf), undefined, true, URL.createObjectURL(file))).catch((e) => status(e.message, true));
}

$("model").addEventListener("change", () => pickModel().catch((e) => status(e.message, true)));
$("run-attack").addEventListener("click", () => attack().catch((e) => status(e.message, true)));
$("file").addEventListener("change", (e) => { if (e.target.files[0]) readFile(e.target.files[0]); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files[0]) readFile(e.dataTransfer.files[0]);
});
loadModels().then(() => { document.body.dataset.ready = "1"; }).catch((e) => status(e.message, true));
