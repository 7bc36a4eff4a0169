// Pieces the app's pages and the static --web page share: a drop zone, the before/after view, a status line,
// and a model's one-line description.

export function status(element, text, isError = false) {
  element.textContent = text;
  element.classList.toggle('error', isError);
}

export function dropZone(zone, onFiles) {
  // A click opens the file chooser; files dropped or chosen go to onFiles (images only).
  const input = zone.querySelector('input[type=file]');
  zone.addEventListener('click', (event) => { if (event.target !== input) input.click(); });
  input.addEventListener('change', () => { if (input.files.length) onFiles([...input.files]); input.value = ''; });
  zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    onFiles([...event.dataTransfer.files]);
  });
}

export function beforeAfter(beforeUrl, afterUrl) {
  // The output with the input laid over its left part; dragging moves the divide.
  const box = document.createElement('div');
  box.className = 'compare';
  const after = new Image(), before = new Image(), divider = document.createElement('div');
  after.src = afterUrl;
  after.alt = 'output';
  before.src = beforeUrl;
  before.alt = 'input';
  before.className = 'before';
  divider.className = 'divider';
  const range = document.createElement('input');
  Object.assign(range, { type: 'range', min: 0, max: 100, value: 50, title: 'before | after' });
  range.addEventListener('input', () => {
    before.style.clipPath = `inset(0 ${100 - range.value}% 0 0)`;
    divider.style.left = `${range.value}%`;
  });
  box.append(after, before, divider, range);
  return box;
}

export function resultCard(container, title) {
  // A card for one image's result, first in `container`; fill it with showResult or showFailure.
  const box = document.createElement('div');
  box.className = 'result';
  const name = document.createElement('div');
  name.className = 'name';
  name.textContent = title;
  box.append(name);
  container.prepend(box);
  return box;
}

export function showResult(box, beforeUrl, afterUrl, fileName, figures) {
  const meta = document.createElement('div');
  meta.className = 'meta';
  const text = document.createElement('span');
  text.textContent = figures;
  const link = Object.assign(document.createElement('a'), { href: afterUrl, download: fileName,
                                                           textContent: `download ${fileName}` });
  meta.append(text, link);
  box.append(beforeAfter(beforeUrl, afterUrl), meta);
}

export function showFailure(box, message) {
  const error = document.createElement('div');
  error.className = 'error';
  error.textContent = message;
  box.append(error);
}

export function describe(model) {
  // "pix2pix · unet_128 · x4 · trained at 128 · int8 · 12.3 MB" from the metadata and card.
  const meta = model.meta || {}, card = model.card || {};
  const parts = [card.task || meta.task, card.architecture || meta.architecture];
  if (Number(meta.scale || 1) > 1) parts.push(`x${meta.scale}`);
  if (meta.train_size) parts.push(`trained at ${meta.train_size}`);
  if (meta.image_size) parts.push(`${meta.image_size}px`);
  if (meta.size_multiple && Number(meta.size_multiple) > 1) parts.push(`sides multiple of ${meta.size_multiple}`);
  parts.push(card.precision || meta.precision);
  if (model.bytes) parts.push(`${(model.bytes / 1e6).toFixed(1)} MB`);
  if (card.direction || meta.direction) parts.push(card.direction || meta.direction);
  return parts.filter(Boolean).join(' · ');
}

export function download(url, name) {
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
}
