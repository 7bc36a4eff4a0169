// An exported i2i generator in the browser, with onnxruntime-web: WebGPU when the browser has it, else
// WebAssembly with SIMD and (when the page is cross-origin isolated) threads. Pre- and post-processing are
// Python's Translator's, step for step in float32: pixels mapped onto the model's value range, reflection
// padding to its size multiple, the output cropped and rounded to uint8 as i2i.infer.model.from_model_range
// does, so a picture translated here matches `i2i translate` to within float rounding.

const here = new URL('.', import.meta.url);

export function threadCount() {
  // Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages (COOP + COEP
  // headers: `i2i app` sends them; `python -m http.server` and most static hosts do not).
  return self.crossOriginIsolated ? Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1)) : 1;
}

export async function loadRuntime({ gpu = true } = {}) {
  let adapter = null;
  if (gpu && navigator.gpu) {
    try { adapter = await navigator.gpu.requestAdapter(); } catch (e) { adapter = null; }
  }
  const file = adapter ? 'ort/ort.webgpu.min.mjs' : 'ort/ort.wasm.min.mjs';
  const ort = await import(new URL(file, here).href);
  ort.env.wasm.wasmPaths = new URL('ort/', here).href;
  ort.env.wasm.numThreads = threadCount();
  ort.env.logLevel = 'error';
  return { ort, backend: adapter ? 'webgpu' : 'wasm', threads: ort.env.wasm.numThreads };
}

function reflect(i, n) {
  // OpenCV's BORDER_REFLECT_101 index (what Translator pads with): ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

export function valueRange(info) {
  const [low, high] = String(info.value_range || '-1,1').split(',').map(Number);
  return { low, high };
}

export class BrowserModel {
  // info: the model's i2i metadata without the "i2i." prefix (size_multiple, value_range, in_channels, ...).
  constructor(runtime, session, info) {
    this.runtime = runtime;
    this.session = session;
    this.info = info;
    this.multiple = Number(info.size_multiple || 1);
    this.scale = Number(info.scale || 1);
    this.inChannels = Number(info.in_channels || 3);
    this.outChannels = Number(info.out_channels || 3);
    this.range = valueRange(info);
  }

  static async open(runtime, url, info, externalData = []) {
    const options = { executionProviders: runtime.backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
                      graphOptimizationLevel: 'all' };
    if (externalData.length) options.externalData = externalData;
    const session = await runtime.ort.InferenceSession.create(url, options);
    return new BrowserModel(runtime, session, info);
  }

  // RGBA pixels (width x height, as ImageData holds them) -> the input tensor, padded to the size multiple.
  input(rgba, width, height) {
    const m = this.multiple, pw = Math.ceil(width / m) * m, ph = Math.ceil(height / m) * m;
    const c = this.inChannels, plane = pw * ph, data = new Float32Array(c * plane);
    // to_model_range, x / step + low in float32, for each of the 256 levels
    const step = Math.fround(255 / (this.range.high - this.range.low)), low = Math.fround(this.range.low);
    const level = new Float32Array(256).map((_, v) => Math.fround(v / step) + low);
    const columns = Int32Array.from({ length: pw }, (_, x) => 4 * reflect(x, width));
    for (let y = 0; y < ph; y++) {
      const row = 4 * width * reflect(y, height), d0 = y * pw;
      for (let x = 0; x < pw; x++) {
        const s = row + columns[x], d = d0 + x;
        if (c === 1) {  // OpenCV's RGB -> grey, in its fixed point
          data[d] = level[(rgba[s] * 4899 + rgba[s + 1] * 9617 + rgba[s + 2] * 1868 + 8192) >> 14];
        } else {
          data[d] = level[rgba[s]];
          data[plane + d] = level[rgba[s + 1]];
          data[2 * plane + d] = level[rgba[s + 2]];
        }
      }
    }
    return { tensor: new this.runtime.ort.Tensor('float32', data, [1, c, ph, pw]), width: pw, height: ph };
  }

  // Translate RGBA pixels: {rgba: the output as RGBA uint8, width, height, ms: the model's run, and with
  // keepValues the cropped float output (C x H x W) as values}.
  async run(rgba, width, height, { keepValues = false } = {}) {
    const input = this.input(rgba, width, height);
    const start = performance.now();
    const results = await this.session.run({ [this.session.inputNames[0]]: input.tensor });
    const output = results[this.session.outputNames[0]];
    const values = output.location === 'gpu-buffer' ? await output.getData() : output.data;
    const ms = performance.now() - start;
    const s = this.scale, ow = width * s, oh = height * s, fw = input.width * s, fplane = fw * input.height * s;
    const c = this.outChannels, out = new Uint8ClampedArray(4 * ow * oh);
    const cropped = keepValues ? new Float32Array(c * ow * oh) : null;
    const low = Math.fround(this.range.low), gain = Math.fround(255 / (this.range.high - this.range.low));
    for (let k = 0; k < 3; k++) {
      const ch = c === 1 ? 0 : k, base = ch * fplane;
      for (let y = 0; y < oh; y++) {
        for (let x = 0, i = base + y * fw, d = y * ow; x < ow; x++, i++, d++) {
          const v = values[i];
          // from_model_range: clip((v - low) * gain + 0.5, 0, 255) truncated, every step in float32
          const level = Math.fround(Math.fround(Math.fround(v - low) * gain) + 0.5);
          out[4 * d + k] = level <= 0 ? 0 : level >= 255 ? 255 : Math.trunc(level);
          if (cropped && k < c) cropped[ch * ow * oh + d] = v;
        }
      }
    }
    for (let d = 3; d < out.length; d += 4) out[d] = 255;
    input.tensor.dispose?.();
    output.dispose?.();
    return { rgba: out, width: ow, height: oh, values: cropped, ms };
  }

  release() { return this.session.release(); }
}

export const BROWSER_MAX_PIXELS = 4096 * 4096;

// Translate an image file whole, here: {blob (PNG), url of the input, width, height, values, rgba, ms, note}.
export async function translateFile(model, file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none',
                                             imageOrientation: 'from-image' });
  } catch (e) {
    throw new Error(`${file.name}: not an image this browser can read`);
  }
  const { width, height } = bitmap;
  if (width * height > BROWSER_MAX_PIXELS) {
    bitmap.close();
    throw new Error(`${file.name}: ${width}x${height} is too large to translate in the browser (at most `
                    + `${BROWSER_MAX_PIXELS / 1e6} megapixels): translate it on the server`);
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const result = await model.run(context.getImageData(0, 0, width, height).data, width, height,
                                 { keepValues: true });
  canvas.width = result.width;
  canvas.height = result.height;
  context.putImageData(new ImageData(result.rgba, result.width, result.height), 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  return { ...result, blob };
}
