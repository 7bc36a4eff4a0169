// The app's pages talk to its API through these: errors come back as one line (the server's message).

export async function api(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', ...options });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.clone().json();
      if (body.error) message = body.error;
    } catch (e) { message = (await response.text()).trim() || message; }
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return response;
}

export async function json(path, options) {
  return (await api(path, options)).json();
}

export async function models(kind) {
  // The models on offer of one kind ('translate' or 'generate').
  const { models } = await json('/api/models');
  return models.filter((m) => m.kind === kind);
}

export function fillSelect(select, items, label = (m) => m.name) {
  select.replaceChildren(...items.map((item) => new Option(label(item), item.name)));
}

export function markPage() {
  for (const link of document.querySelectorAll('header nav a')) {
    if (link.getAttribute('href') === location.pathname) link.classList.add('here');
  }
}
