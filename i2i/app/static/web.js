// The page of an `i2i export --web` folder: the model in model.json runs in this browser on dropped images
// and on the webcam. It needs only a static host; window.i2iWeb keeps count (the tests read it).

import { BrowserModel, loadRuntime, translateFile } from './ortrun.js';
import { describe, dropZone, resultCard, showFailure, showResult, status } from './ui.js';
import { BrowserLoop, closeCamera, openCamera, sideFor, splitDragging } from './view.js';

const $ = (id) => document.getElementById(id);
const message = $('message');
const page = window.i2iWeb = { ready: false, done: 0, failed: 0, errors: [], last: null, live: { frames: 0, fps: 0 } };
const settings = { side: 256, fit: 'crop', view: 'side', split: 0.5 };
let model = null, loop = null, runtime = null;

function fail(error) {
  status(message, error.message || String(error), true);
  page.errors.push(error.message || String(error));
}

async function load() {
  const about = await (await fetch('model.json')).json();
  document.title = `${about.name} · i2i`;
  $('title').textContent = about.name;
  $('card').textContent = describe(about);
  status(message, 'loading the model ...');
  runtime = await loadRuntime();
  const external = about.files.filter((f) => f !== about.graph).map((f) => ({ path: f.split('/').pop(), data: f }));
  model = await BrowserModel.open(runtime, about.graph, about.meta, external);
  settings.side = sideFor(about.meta);
  const threads = runtime.threads === 1 && !self.crossOriginIsolated
    ? '1 thread (this host sends no cross-origin isolation headers, which threads need)'
    : `${runtime.threads} thread${runtime.threads === 1 ? '' : 's'}`;
  $('about').textContent = `Everything runs in this browser (onnxruntime-web ${about.runtime}, ${runtime.backend}, `
    + `${threads}); no image leaves this machine.`;
  Object.assign(page, { ready: true, name: about.name, backend: runtime.backend, threads: runtime.threads });
  $('start').disabled = false;
  status(message, '');
}

async function translate(files) {
  if (!model) return;
  for (const file of files) {
    const box = resultCard($('results'), file.name);
    try {
      const result = await translateFile(model, file);
      page.last = result;
      showResult(box, URL.createObjectURL(file), URL.createObjectURL(result.blob),
                 `${file.name.replace(/\.[^.]*$/, '')}_${page.name}.png`,
                 `${result.width}x${result.height} · model ${result.ms.toFixed(0)} ms`);
      page.done += 1;
    } catch (e) {
      showFailure(box, e.message);
      page.failed += 1;
      page.errors.push(e.message);
    }
  }
}

$('start').addEventListener('click', async () => {
  $('start').disabled = true;
  try {
    await openCamera($('camera'));
    settings.fit = $('fit').value;
    $('view').hidden = false;
    $('stop').disabled = false;
    loop = new BrowserLoop($('camera'), model, $('view'), settings, (figures) => {
      Object.assign(page.live, figures);
      $('figures').textContent = `${figures.fps.toFixed(1)} FPS · model ${figures.model_ms.toFixed(0)} ms · `
        + `${figures.frames} frames`;
    });
    await loop.run();
  } catch (e) {
    fail(e);
    $('start').disabled = false;
  }
});
$('stop').addEventListener('click', () => {
  if (loop) loop.stop();
  closeCamera($('camera'));
  $('start').disabled = false;
  $('stop').disabled = true;
});
$('view-mode').addEventListener('change', () => { settings.view = $('view-mode').value; });
splitDragging($('view'), (value) => { settings.split = value; });
dropZone($('drop'), translate);
load().catch(fail);
