// The Translate / upscale page: images dropped, chosen, or picked from the app's --folder go through a model on
// the server (as `i2i translate`, tiles included) or in this browser; each shows before/after with a download,
// and all of them download as one zip. window.i2iTranslate keeps count (the tests read it).

import { api, fillSelect, json, markPage, models } from './common.js';
import { BrowserModel, loadRuntime, translateFile } from './ortrun.js';
import { describe, download, dropZone, resultCard, showFailure, showResult, status } from './ui.js';
import { zip } from './zip.js';

markPage();
const $ = (id) => document.getElementById(id);
const modelSelect = $('model'), message = $('message'), results = $('results'), progress = $('progress');
const page = window.i2iTranslate = { total: 0, done: 0, failed: 0, errors: [], last: null, timings: [] };
let available = [], config = { max_upload_mb: 50, folder: [] }, finished = [], queue = [], busy = 0;
let runtime = null, loaded = null;

function current() { return available.find((m) => m.name === modelSelect.value); }
function where() { return document.querySelector('input[name=where]:checked').value; }

async function browserModel(model) {
  if (!model.browser) throw new Error(model.browser_note);
  if (!loaded || loaded.name !== model.name) {
    runtime = runtime || await loadRuntime();
    page.backend = runtime.backend;
    if (loaded) await loaded.session.release();  // one model in the page at a time
    loaded = null;
    const external = model.files.filter((f) => f !== model.graph).map((f) => ({ path: f.split('/').pop(), data: f }));
    loaded = { name: model.name, session: await BrowserModel.open(runtime, model.graph, model.meta, external) };
  }
  return loaded.session;
}

async function onServer(item, model) {
  const query = new URLSearchParams({ model: model.name });
  for (const option of ['size', 'tile']) if ($(option).value !== '') query.set(option, $(option).value);
  let body = null;
  if (item.file) {
    if (item.file.size > config.max_upload_mb * 1e6) {
      throw new Error(`${item.name}: ${(item.file.size / 1e6).toFixed(1)} MB is over the server's upload limit of `
                      + `${config.max_upload_mb} MB`);
    }
    query.set('name', item.name);
    body = item.file;
  } else {
    query.set('file', item.index);
  }
  const response = await api(`/api/translate?${query}`, { method: 'POST', body,
                                                          headers: { 'content-type': 'application/octet-stream' } });
  const disposition = response.headers.get('content-disposition') || '';
  const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || `${item.name}_${model.name}.png`;
  return { blob: await response.blob(), name, ms: Number(response.headers.get('x-i2i-model-ms')),
           size: response.headers.get('x-i2i-size') };
}

async function inBrowser(item, model) {
  const file = item.file || await (await api(`/api/folder/${item.index}`)).blob();
  const result = await translateFile(await browserModel(model), new File([file], item.name));
  page.last = result;
  const stem = item.name.replace(/\.[^.]*$/, '');
  return { blob: result.blob, name: `${stem}_${model.name}.png`, ms: result.ms,
           size: `${result.width}x${result.height}` };
}

async function work(item, model, inputUrl) {
  const box = resultCard(results, `${item.name} → ${model.name}`), started = performance.now();
  try {
    const out = await (item.where === 'browser' ? inBrowser(item, model) : onServer(item, model));
    page.timings.push({ total_ms: performance.now() - started, model_ms: out.ms });
    showResult(box, inputUrl, URL.createObjectURL(out.blob), out.name, `${out.size} · model ${out.ms.toFixed(0)} ms`);
    finished.push({ name: out.name, blob: out.blob });
    page.done += 1;
  } catch (e) {
    showFailure(box, e.message);
    page.failed += 1;
    page.errors.push(e.message);
  }
  progress.value = page.done + page.failed;
  $('zip').disabled = !finished.length;
  if (page.done + page.failed === page.total) {
    status(message, `${page.done} of ${page.total} done` + (page.failed ? `, ${page.failed} failed` : ''), page.failed > 0);
  }
}

function pump() {
  const limit = queue.length && queue[0].where === 'browser' ? 1 : 2;
  while (busy < limit && queue.length) {
    const { item, model, inputUrl } = queue.shift();
    busy += 1;
    work(item, model, inputUrl).finally(() => { busy -= 1; pump(); });
  }
}

function add(items) {
  const model = current();
  if (!model) { status(message, 'choose a model first', true); return; }
  for (const item of items) {
    item.where = where();
    const inputUrl = item.file ? URL.createObjectURL(item.file) : `/api/folder/${item.index}`;
    queue.push({ item, model, inputUrl });
  }
  page.total += items.length;
  progress.max = page.total;
  progress.hidden = false;
  status(message, `translating ${page.total - page.done - page.failed} image(s) ...`);
  pump();
}

dropZone($('drop'), (files) => add(files.map((file) => ({ file, name: file.name }))));
$('pick').addEventListener('click', () => {
  const picked = [...$('folder').selectedOptions].map((o) => ({ index: Number(o.value), name: o.textContent }));
  if (picked.length) add(picked);
});
page.zip = () => zip(finished);
$('zip').addEventListener('click', async () => {
  download(URL.createObjectURL(await page.zip()), `i2i-${finished.length}-images.zip`);
});
modelSelect.addEventListener('change', () => {
  const model = current();
  $('card').textContent = model ? describe(model) : '';
});
for (const radio of document.querySelectorAll('input[name=where]')) {
  radio.addEventListener('change', () => {
    const browser = where() === 'browser';
    $('size').disabled = $('tile').disabled = browser;
  });
}

Promise.all([models('translate'), json('/api/config')]).then(([list, settings]) => {
  available = list;
  config = settings;
  fillSelect(modelSelect, list);
  modelSelect.dispatchEvent(new Event('change'));
  if (!list.length) status(message, 'no image-to-image models yet: i2i export a run, or i2i models pull NAME', true);
  if (settings.folder.length) {
    $('picker').hidden = false;
    $('folder').replaceChildren(...settings.folder.map((name, i) => new Option(name, String(i))));
  }
  page.ready = true;
}).catch((e) => status(message, e.message, true));
