// The Runs page: each run's latest sample grid and a link to its report; selected runs open the comparison.

import { json, markPage } from './common.js';
import { status } from './ui.js';

markPage();
const $ = (id) => document.getElementById(id);
const page = window.i2iRuns = { count: null };

function checked() { return [...document.querySelectorAll('.run input:checked')].map((box) => box.value); }

function card(run) {
  const box = document.createElement('div');
  box.className = 'run';
  const top = document.createElement('div');
  top.className = 'top';
  const pick = document.createElement('label');
  pick.className = 'inline';
  const tick = Object.assign(document.createElement('input'), { type: 'checkbox', value: run.name });
  tick.addEventListener('change', () => { $('compare').disabled = checked().length < 2; });
  const name = document.createElement('b');
  name.textContent = run.name;
  pick.append(tick, ' ', name);
  const link = Object.assign(document.createElement('a'), { href: run.report, target: '_blank', textContent: 'report' });
  top.append(pick, link);
  const about = document.createElement('div');
  about.className = 'note';
  about.textContent = [run.task, run.step !== null ? `latest grid: step ${run.step}` : 'no sample grid yet',
                       new Date(run.modified * 1000).toLocaleString()].filter(Boolean).join(' · ');
  box.append(top, about);
  if (run.sample) box.append(Object.assign(new Image(), { src: run.sample, alt: `${run.name} samples`, loading: 'lazy' }));
  return box;
}

$('compare').addEventListener('click', () => {
  const query = new URLSearchParams(checked().map((name) => ['run', name]));
  window.open(`/runs/compare?${query}`, '_blank');
});

json('/api/runs').then(({ root, runs }) => {
  $('root').textContent = `${runs.length} run${runs.length === 1 ? '' : 's'} in ${root}`;
  $('runs').replaceChildren(...runs.map(card));
  if (!runs.length) status($('message'), `no runs in ${root} yet (i2i train ...; or i2i app --runs DIR)`);
  page.count = runs.length;
}).catch((e) => status($('message'), e.message, true));
