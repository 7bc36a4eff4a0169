"""The run report as a user sees it: written when training ends, self-contained, and rendered by headless
Chromium (curves and images drawn, titles in the DOM, no console errors, no request leaving the page)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SAMPLE, tiny_config

from i2i.cli.main import main
from i2i.report import read_run, write_run_report
from i2i.report.svg import nice_ticks, smooth
from i2i.training.trainer import train

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two short pix2pix runs that differ in learning rate, with an evaluation recorded in each (as `i2i eval`
    and --eval-every leave them: an eval.json and 'eval' records)."""
    out = tmp_path_factory.mktemp("report_runs")
    folders = []
    for name, lr in (("base", 2e-4), ("fast", 1e-3)):
        config = tiny_config("pix2pix", SAMPLE, out, data={"max_dataset_size": 8, "val_images": 2},
                             optim={"lr": lr}, run={"name": name, "max_steps": 6, "sample_every": 2})
        run = train(config, progress_bar=False).run_dir
        with (run / "metrics.jsonl").open("a") as f:
            for step, fid in ((2, 210.0), (6, 180.5 if name == "base" else 150.25)):
                f.write(json.dumps({"kind": "eval", "step": step, "epoch": 0, "time": 1.0, "FID": fid, "KID": 0.2,
                                    "KID_std": 0.01, "LPIPS": 0.4, "PSNR": 12.0, "SSIM": 0.2}) + "\n")
        score = {"name": "G", "direction": "AtoB", "images": 14, "references": 14, "paired": True,
                 "metrics": {"FID": 123.456, "KID": 0.0421, "KID_std": 0.0012, "LPIPS": 0.3, "PSNR": "inf",
                             "SSIM": 0.5}}
        (run / "eval.json").write_text(json.dumps({"evaluations": [{"kind": "run", "step": 6, "split": "val",
                                                                    "source": "x", "references": "y",
                                                                    "scores": [score], "settings": {}}]}))
        folders.append(run)
    return folders


def test_training_writes_a_self_contained_report(runs: list[Path]) -> None:
    run = runs[0]
    assert (run / "report.html").is_file() and (run / "environment.json").is_file()  # written when training ended
    path = write_run_report(run)
    html = path.read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)  # nothing fetched
    assert "@import" not in html and "url(" not in html
    assert html.count("<svg") >= 5 and html.count('src="data:image/jpeg;base64,') == len(read_run(run).samples)
    for title in ("Evaluation", "Losses", "Learning rate and speed", "Validation", "FID and KID during training",
                  "Samples", "Configuration", "Machine, versions and duration"):
        assert f"<h2>{title}</h2>" in html
    assert "123.46" in html and "0.0421 ± 0.0012" in html and ">inf<" in html  # the recorded evaluation
    assert "losses: G" in html and "losses: D" in html  # one chart per network
    assert path.stat().st_size < 2_000_000


def test_comparing_runs_shows_config_differences(runs: list[Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", *map(str, runs), "-o", str(tmp_path / "compare.html")]) == 0
    html = (tmp_path / "compare.html").read_text()
    assert "<h2>Configuration differences</h2>" in html
    differences = html.split("<h2>Configuration differences</h2>")[1].split("</table>")[0]
    assert "optim.lr" in differences and "run.name" in differences and "data.root" not in differences
    assert "loss G_L1" in html and "<h2>Samples</h2>" in html
    capsys.readouterr()
    for argv, message in ((["report", str(runs[0]), str(runs[1])], "-o FILE.html"),
                          (["report", str(tmp_path)], "not a run folder"),
                          (["report", str(tmp_path / "nope")], "no such run folder")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err


def test_chart_helpers() -> None:
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0.00012, 0.00019)[0] >= 0.00012 and len(nice_ticks(3, 997)) in range(4, 8)
    assert smooth([1.0] * 20) == pytest.approx([1.0] * 20)  # debiased: a constant stays constant
    noisy = [float(i % 2) for i in range(50)]
    assert max(smooth(noisy)[10:]) - min(smooth(noisy)[10:]) < 0.5


PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
document.addEventListener('securitypolicyviolation',
                          function (e) { window.__errors.push('csp ' + e.blockedURI); });
var __error = console.error;
console.error = function () {
  window.__errors.push(Array.from(arguments).join(' '));
  __error.apply(console, arguments);
};
window.addEventListener('load', function () {
  function box(el) {
    var r = el.getBoundingClientRect();
    return [r.left + scrollX, r.top + scrollY, r.width, r.height];
  }
  var slider = document.querySelector('.slider input'), result = {};
  result.charts = Array.from(document.querySelectorAll('.figure svg')).slice(0, 6).map(box);
  result.image = box(document.querySelector('.slider img:not([hidden])'));
  result.headings = Array.from(document.querySelectorAll('h2')).map(function (h) { return h.textContent; });
  result.height = document.documentElement.scrollHeight;
  result.resources = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  slider.value = 0; slider.dispatchEvent(new Event('input'));
  var shown = document.querySelectorAll('.slider img:not([hidden])');
  result.slider = [shown.length, shown[0].getAttribute('data-step'),
                   document.querySelector('.slider .step').textContent];
  slider.value = slider.max; slider.dispatchEvent(new Event('input'));
  result.errors = window.__errors;
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>"""


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium, isolated: a fresh profile, no background traffic, no GPU."""
    assert CHROMIUM is not None
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               "--force-device-scale-factor=1", "--hide-scrollbars", f"--user-data-dir={profile}",
               "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0", *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def inked(shot: np.ndarray, box: list[float]) -> float:
    """Share of pixels in a page box that are not background white."""
    left, top, width, height = (round(v) for v in box)
    region = shot[top : top + height, left : left + width]
    assert region.size, f"box {box} is outside the {shot.shape[1]}x{shot.shape[0]} screenshot"
    return float((region.astype(int).sum(axis=2) < 3 * 235).mean())


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (.ci/run installs it)")
def test_the_report_renders_in_chromium(runs: list[Path], tmp_path: Path) -> None:
    html = write_run_report(runs[0], tmp_path / "report.html").read_text()
    probed = tmp_path / "probed.html"
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1))
    dom = chromium(probed, tmp_path / "profile1", "--dump-dom", "--window-size=1280,1000")  # the screenshot's width
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stderr[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                       .replace("&gt;", ">"))
    assert probe["errors"] == [] and probe["resources"] == []  # no error, no request of any kind
    assert "CONSOLE" not in dom.stderr or "Uncaught" not in dom.stderr
    assert {"Evaluation", "Losses", "Samples", "FID and KID during training"} <= set(probe["headings"])
    samples = read_run(runs[0]).samples
    assert probe["slider"] == [1, str(samples[0][0]), f"step {samples[0][0]}"]  # the slider shows the first grid
    height = min(int(probe["height"]) + 10, 16000)
    shot_file = tmp_path / "shot.png"
    chromium(probed, tmp_path / "profile2", f"--screenshot={shot_file}", f"--window-size=1280,{height}")
    shot = cv2.imread(str(shot_file))
    assert shot is not None and shot.shape[0] >= probe["charts"][0][1]
    for box in probe["charts"]:
        assert 0.01 < inked(shot, box) < 0.6, box  # axes, ticks and curves drawn; not a blank or black box
    image = probe["image"]
    assert image[2] > 100 and image[3] > 50 and inked(shot, image) > 0.2  # the latest sample grid is drawn
    page_top = shot[: int(probe["charts"][0][1])]
    assert (page_top.sum(axis=2) < 300).any()  # the title's dark text
