// The Live page: the browser's webcam through a model, in this browser (onnxruntime-web) or on the server
// (frames over a WebSocket to ONNX Runtime there). window.i2iLive holds the figures shown (the tests read it).

import { fillSelect, markPage, models } from './common.js';
import { loadRuntime } from './ortrun.js';
import { describe, status } from './ui.js';
import {
  BrowserLoop, BrowserModel, FrameWatcher, Meter, closeCamera, compose, fitInto, openCamera, sideFor, splitDragging,
} from './view.js';

markPage();
const $ = (id) => document.getElementById(id);
const modelSelect = $('model'), video = $('camera'), target = $('view'), message = $('message');
const settings = { side: 256, fit: 'crop', view: 'side', split: 0.5 };
const live = window.i2iLive = { running: false, mode: null, frames: 0, fps: 0, model_ms: 0, latency_ms: 0,
                                 backend: null, threads: null, dropped: 0, error: null, recent: [] };
let available = [], loop = null, socket = null, runtime = null, watcher = null;

function current() { return available.find((m) => m.name === modelSelect.value); }

function showFigures(update) {
  Object.assign(live, update);
  live.recent.push([performance.now(), live.model_ms, live.latency_ms]);  // the last 300 frames, for benchmarks
  if (live.recent.length > 300) live.recent.shift();
  const where = live.mode === 'browser' ? `in this browser (${live.backend}, ${live.threads} thread${live.threads === 1 ? '' : 's'})`
    : `on the server (${live.backend})`;
  $('figures').textContent = `${live.fps.toFixed(1)} FPS · model ${live.model_ms.toFixed(0)} ms · latency `
    + `${live.latency_ms.toFixed(0)} ms · ${live.frames} frames${live.mode === 'server' ? ` · ${live.dropped} dropped` : ''} · ${where}`;
}

function fail(error) {
  live.error = String(error.message || error);
  status(message, live.error, true);
  stop();
}

async function startBrowser(model) {
  if (!model.browser) throw new Error(model.browser_note);
  status(message, 'loading the model into the browser ...');
  runtime = runtime || await loadRuntime();
  const external = model.files.filter((f) => f !== model.graph).map((f) => ({ path: f.split('/').pop(), data: f }));
  const session = await BrowserModel.open(runtime, model.graph, model.meta, external);
  Object.assign(live, { backend: runtime.backend, threads: runtime.threads });
  loop = new BrowserLoop(video, session, target, settings, showFigures);
  status(message, '');
  loop.run().catch(fail).finally(() => session.release());
}

function startServer(model) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const query = new URLSearchParams({ model: model.name, fit: settings.fit });
  if ($('size').value) query.set('size', $('size').value);
  socket = new WebSocket(`${scheme}://${location.host}/ws/live?${query}`);
  socket.binaryType = 'arraybuffer';
  const input = document.createElement('canvas').getContext('2d');
  const output = document.createElement('canvas').getContext('2d');
  const meter = new Meter(), frames = watcher = new FrameWatcher(video);
  let header = null, sentAt = 0, box = null, seen = 0;
  const sendFrame = async () => {
    // the newest camera frame, once the previous one is back: one frame in flight, none queued. It is fitted
    // here (the server's fit then has nothing left to do) so that only the model's square travels.
    await frames.newerThan(seen);
    seen = frames.count;
    if (!socket || socket.readyState !== WebSocket.OPEN) { frames.stop(); return; }
    sentAt = performance.now();
    box = fitInto(video, video.videoWidth, video.videoHeight, settings.side, settings.fit, input);
    const blob = await new Promise((resolve) => input.canvas.toBlob(resolve, 'image/jpeg', 0.9));
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(await blob.arrayBuffer());
  };
  socket.onmessage = async (event) => {
    if (typeof event.data === 'string') {
      const data = JSON.parse(event.data);
      if (data.error && data.frame === undefined) { fail(new Error(data.error)); return; }
      if (data.ready) {
        settings.side = data.side;
        Object.assign(live, { backend: data.provider, threads: null });
        status(message, '');
        sendFrame();
        return;
      }
      header = data;
      if (data.error) { status(message, data.error, true); sendFrame(); }
      return;
    }
    const picture = await createImageBitmap(new Blob([event.data], { type: 'image/jpeg' }));
    output.canvas.width = picture.width;
    output.canvas.height = picture.height;
    output.drawImage(picture, 0, 0);
    picture.close();
    compose(target, input.canvas, output.canvas, box, settings.view, settings.split);
    meter.tick();
    showFigures({ frames: meter.count, fps: meter.fps, model_ms: header ? header.model_ms : 0,
                  latency_ms: performance.now() - sentAt, dropped: header ? header.dropped : 0 });
    sendFrame();
  };
  socket.onerror = () => fail(new Error('the connection to the server failed'));
  socket.onclose = (event) => {
    if (live.running && socket) fail(new Error(event.reason || 'the server closed the connection'));
  };
  status(message, 'connecting ...');
}

async function start() {
  const model = current();
  if (!model) return;
  Object.assign(live, { error: null, recent: [] });
  settings.fit = $('fit').value;
  settings.side = sideFor(model.meta, Number($('size').value));
  live.mode = document.querySelector('input[name=mode]:checked').value;
  $('start').disabled = true;
  try {
    await openCamera(video);
    live.running = true;
    $('stop').disabled = false;
    if (live.mode === 'browser') await startBrowser(model);
    else startServer(model);
  } catch (e) {
    fail(e);
  }
}

function stop() {
  live.running = false;
  if (loop) { loop.stop(); loop = null; }
  if (socket) { const s = socket; socket = null; s.close(); }
  if (watcher) { watcher.stop(); watcher = null; }
  closeCamera(video);
  $('start').disabled = false;
  $('stop').disabled = true;
}

$('start').addEventListener('click', start);
$('stop').addEventListener('click', stop);
$('view-mode').addEventListener('change', () => { settings.view = $('view-mode').value; });
modelSelect.addEventListener('change', () => {
  const model = current();
  $('card').textContent = model ? describe(model) + (model.browser ? '' : ` · in the browser: ${model.browser_note}`) : '';
});
splitDragging(target, (value) => { settings.split = value; });

models('translate').then((list) => {
  available = list;
  fillSelect(modelSelect, list);
  modelSelect.dispatchEvent(new Event('change'));
  $('start').disabled = !list.length;
  if (!list.length) status(message, 'no image-to-image models yet: i2i export a run, or i2i models pull NAME', true);
}).catch(fail);
