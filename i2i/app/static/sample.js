// The Sample page: a grid of samples (or latent walks) from a generator from noise, drawn on the server.

import { api, fillSelect, markPage, models } from './common.js';
import { describe, download, status } from './ui.js';

markPage();
const $ = (id) => document.getElementById(id);
const modelSelect = $('model'), message = $('message'), sheet = $('sheet');
const page = window.i2iSample = { done: 0, error: null };
let available = [], url = null;

function current() { return available.find((m) => m.name === modelSelect.value); }

modelSelect.addEventListener('change', () => {
  const model = current();
  $('card').textContent = model ? describe(model) : '';
  let classes = [];
  try { classes = JSON.parse((model && model.meta.classes) || '[]'); } catch (e) { classes = []; }
  $('label-box').hidden = !classes.length;
  $('label').replaceChildren(new Option('every class in turn', ''), ...classes.map((c) => new Option(c, c)));
});

$('go').addEventListener('click', async () => {
  const request = { model: modelSelect.value, seed: Number($('seed').value), count: Number($('count').value) };
  if ($('label').value) request.label = $('label').value;
  if ($('walk').checked) request.walk = { rows: Number($('rows').value), steps: Number($('steps').value) };
  $('go').disabled = true;
  status(message, 'sampling ...');
  try {
    const response = await api('/api/sample', { method: 'POST', body: JSON.stringify(request),
                                                headers: { 'content-type': 'application/json' } });
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(await response.blob());
    sheet.src = url;
    sheet.hidden = false;
    $('save').disabled = false;
    page.done += 1;
    status(message, `${request.walk ? `${request.walk.rows} walks` : `${request.count} samples`}, seed ${request.seed}: `
                    + `${Number(response.headers.get('x-i2i-model-ms')).toFixed(0)} ms`);
  } catch (e) {
    page.error = e.message;
    status(message, e.message, true);
  } finally {
    $('go').disabled = false;
  }
});

$('save').addEventListener('click', () => download(url, `${modelSelect.value}-seed${$('seed').value}.png`));

models('generate').then((list) => {
  available = list;
  fillSelect(modelSelect, list);
  modelSelect.dispatchEvent(new Event('change'));
  $('go').disabled = !list.length;
  if (!list.length) status(message, 'no generators from noise yet: i2i export a dcgan or vae run', true);
}).catch((e) => status(message, e.message, true));
