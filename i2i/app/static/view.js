// The live view, as `i2i webcam` draws it: frames made square for the model (centre crop or letterbox), the
// views (side by side, output only, split with a divide the mouse drags), the frame rate, the camera, and the
// in-browser loop (newest camera frame -> model -> picture; frames that arrive meanwhile are never queued).

import { BrowserModel } from './ortrun.js';

export const VIEWS = ['side', 'output', 'split'];
const HEIGHT = 480;

export function sideFor(meta, asked = 0) {
  // The model's input side, as `i2i webcam` picks it: the side asked for, else the training size (for an
  // upscaler, the side whose output fills the 480-pixel view), rounded up to the model's size multiple.
  const scale = Number(meta.scale || 1), multiple = Number(meta.size_multiple || 1);
  const side = asked || (scale === 1 ? Number(meta.train_size || 256) : Math.ceil(HEIGHT / scale));
  return Math.ceil(side / multiple) * multiple;
}

export function fitInto(source, width, height, side, mode, context) {
  // Draw `source` into the side x side canvas of `context`; the picture's box (padding excluded).
  context.canvas.width = context.canvas.height = side;
  context.imageSmoothingQuality = 'high';
  if (mode === 'pad') {
    const scale = side / Math.max(width, height), w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale)), x = Math.floor((side - w) / 2), y = Math.floor((side - h) / 2);
    context.fillStyle = '#000';
    context.fillRect(0, 0, side, side);
    context.drawImage(source, 0, 0, width, height, x, y, w, h);
    return { x, y, w, h };
  }
  const square = Math.min(width, height);
  context.drawImage(source, Math.floor((width - square) / 2), Math.floor((height - square) / 2), square, square,
                    0, 0, side, side);
  return { x: 0, y: 0, w: side, h: side };
}

export function compose(target, input, output, box, view, split) {
  // Draw the view into `target` at 480 pixels high; `output` may be `scale` times larger than `input`.
  const s = output.width / input.width, width = Math.round(box.w * HEIGHT / box.h);
  target.width = view === 'side' ? 2 * width : width;
  target.height = HEIGHT;
  const context = target.getContext('2d');
  context.imageSmoothingQuality = 'high';
  const drawInput = (x) => context.drawImage(input, box.x, box.y, box.w, box.h, x, 0, width, HEIGHT);
  const drawOutput = (x) => context.drawImage(output, box.x * s, box.y * s, box.w * s, box.h * s, x, 0, width, HEIGHT);
  if (view === 'side') {
    drawInput(0);
    drawOutput(width);
  } else if (view === 'output') {
    drawOutput(0);
  } else {
    const cut = Math.round(Math.min(1, Math.max(0, split)) * width);
    drawOutput(0);
    context.save();
    context.beginPath();
    context.rect(0, 0, cut, HEIGHT);
    context.clip();
    drawInput(0);
    context.restore();
    context.fillStyle = '#fff';
    context.fillRect(cut - 1, 0, 2, HEIGHT);
  }
}

export class Meter {
  // Frames per second over the last 30 frames, as the webcam window shows it.
  constructor() { this.times = []; this.count = 0; }
  tick() {
    this.times.push(performance.now());
    if (this.times.length > 30) this.times.shift();
    this.count += 1;
  }
  get fps() {
    const t = this.times;
    return t.length > 1 ? (1000 * (t.length - 1)) / (t[t.length - 1] - t[0]) : 0;
  }
}

export async function openCamera(video) {
  if (!window.isSecureContext || !navigator.mediaDevices) {
    throw new Error('the browser gives the camera only to pages on https or localhost (over SSH: ssh -L 7860:localhost:7860)');
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) {
    const why = e.name === 'NotAllowedError' ? 'permission refused' : e.name === 'NotFoundError' ? 'no camera found'
      : e.message;
    throw new Error(`cannot open the camera: ${why}`);
  }
  video.srcObject = stream;
  video.muted = true;
  await video.play();
  return stream;
}

export function closeCamera(video) {
  const stream = video.srcObject;
  if (stream) for (const track of stream.getTracks()) track.stop();
  video.srcObject = null;
}

export class FrameWatcher {
  // Counts the frames the camera presents, so a loop can take the newest one at once when it has already
  // arrived, and wait only when it has not (frames in between are skipped, never queued).
  constructor(video) {
    this.video = video;
    this.count = 0;
    this.waiting = [];
    this.active = true;
    const tick = () => {
      if (!this.active) return;
      this.count += 1;
      for (const resolve of this.waiting.splice(0)) resolve();
      this.schedule(tick);
    };
    this.schedule(tick);
  }

  schedule(tick) {
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(tick);
    else requestAnimationFrame(tick);
  }

  newerThan(seen) {
    return this.count > seen ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }

  stop() {
    this.active = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

export function splitDragging(canvas, onSplit) {
  // Dragging on the picture moves the split view's divide.
  const move = (event) => {
    if (event.buttons !== 1 && event.type !== 'pointerdown') return;
    const rect = canvas.getBoundingClientRect();
    onSplit((event.clientX - rect.left) / rect.width);
  };
  canvas.addEventListener('pointerdown', move);
  canvas.addEventListener('pointermove', move);
}

export class BrowserLoop {
  // The webcam through a BrowserModel in this page: frames never leave the machine.
  constructor(video, model, target, settings, figures) {
    Object.assign(this, { video, model, target, settings, figures });
    this.input = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
    this.output = document.createElement('canvas').getContext('2d');
    this.meter = new Meter();
    this.running = false;
  }

  async run() {
    this.running = true;
    const { video, model, settings } = this;
    this.frames = new FrameWatcher(video);
    let seen = 0;
    while (this.running) {
      await this.frames.newerThan(seen);
      seen = this.frames.count;
      if (!this.running) break;
      const captured = performance.now();
      const box = fitInto(video, video.videoWidth, video.videoHeight, settings.side, settings.fit, this.input);
      const pixels = this.input.getImageData(0, 0, settings.side, settings.side);
      const result = await model.run(pixels.data, settings.side, settings.side);
      this.output.canvas.width = result.width;
      this.output.canvas.height = result.height;
      this.output.putImageData(new ImageData(result.rgba, result.width, result.height), 0, 0);
      compose(this.target, this.input.canvas, this.output.canvas, box, settings.view, settings.split);
      this.meter.tick();
      this.figures({ frames: this.meter.count, fps: this.meter.fps, model_ms: result.ms,
                     latency_ms: performance.now() - captured });
    }
  }

  stop() {
    this.running = false;
    if (this.frames) this.frames.stop();
  }
}

export { BrowserModel };
