"""FID, KID, PSNR/SSIM and the measuring networks' weights: the library numbers against independent
computations with known answers, and the weights files in the exact layouts the libraries load.

The weights here are random (no internet): ``inception_weights`` and ``backbone_weights`` write files with the
tensor names, shapes and dtypes of the published ones, and the real loading code reads them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from i2i.errors import CheckpointError, ConfigError, DataError
from i2i.hub.weights import WEIGHTS
from i2i.metrics import frechet_distance, kernel_distance, psnr, ssim
from i2i.metrics.backbones import (
    ARCHITECTURES,
    INCEPTION,
    LPIPS_BACKBONES,
    WeightsSource,
    expected_shapes,
    inception,
    lpips_network,
)
from i2i.metrics.paired import LPIPS


def random_state(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict in the layout of network ``name`` with random values that keep activations finite:
    He-scaled weights, batch norm close to the identity."""
    generator = torch.Generator().manual_seed(seed)
    state = ARCHITECTURES[name]().state_dict()
    out = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.zeros_like(value)
        elif key.endswith("running_var"):
            out[key] = 0.5 + torch.rand(value.shape, generator=generator)
        elif key.endswith("running_mean") or key.endswith("bias"):
            out[key] = 0.05 * torch.randn(value.shape, generator=generator)
        elif value.ndim == 1:  # batch-norm scale
            out[key] = 1 + 0.1 * torch.randn(value.shape, generator=generator)
        else:
            fan_in = value[0].numel()
            out[key] = torch.randn(value.shape, generator=generator) * (2 / fan_in) ** 0.5
    return out


def write_weights(folder: Path, name: str, seed: int = 0) -> Path:
    """Random weights of network ``name`` saved with torch.save under the catalogue's file name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WEIGHTS[name].file
    if not path.is_file():
        torch.save(random_state(name, seed), path)
    return path


@pytest.fixture(scope="session")
def weights_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An I2I_HOME whose weights/ holds random Inception and SqueezeNet / AlexNet files, as a first download
    would leave them."""
    home = tmp_path_factory.mktemp("i2i_home")
    for name in (INCEPTION.name, "squeezenet1_1", "alexnet"):
        write_weights(home / "weights", name, seed=1)
    return home


# --- FID and KID against independent computations -------------------------------------------------------------
def scipy_fid(real: np.ndarray, fake: np.ndarray) -> float:
    """The Frechet distance as the original TTUR code computes it (scipy's matrix square root)."""
    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


def test_frechet_distance_agrees_with_scipy_and_known_answers() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 16))
    fake = rng.normal(size=(300, 16)) @ np.diag(np.linspace(0.5, 2, 16)) + 0.3
    assert frechet_distance(real, fake) == pytest.approx(scipy_fid(real, fake), rel=1e-6)
    assert frechet_distance(real, real) == pytest.approx(0, abs=1e-6)
    shift = rng.normal(size=16)  # same covariance, means apart: the distance is |shift|^2 exactly
    assert frechet_distance(real, real + shift) == pytest.approx(float((shift**2).sum()), rel=1e-6)
    # Gaussians with diagonal covariances: sum (mu1 - mu2)^2 + (sqrt(a) - sqrt(b))^2, approached by large samples
    a, b = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 1.0])
    x = rng.normal(size=(200_000, 3)) * np.sqrt(a)
    y = rng.normal(size=(200_000, 3)) * np.sqrt(b) + 1.0
    exact = 3 * 1.0 + float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert frechet_distance(x, y) == pytest.approx(exact, rel=0.02)
    with pytest.raises(DataError, match="at least 2"):
        frechet_distance(real[:1], fake)


def test_fewer_images_than_dimensions_give_the_same_distance_in_their_span() -> None:
    """With n_real + n_fake < D the features are rotated into the subspace they span first; the distance must
    be the one of the full covariances, computed here through symmetric square roots (eigh)."""
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(10, 40)), rng.normal(size=(12, 40)) * 1.5 + 0.2
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = np.linalg.eigvalsh(root1 @ s2 @ root1)
    exact = ((real.mean(0) - fake.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2)
    exact -= 2 * np.sqrt(np.clip(middle, 0, None)).sum()
    assert frechet_distance(real, fake) == pytest.approx(exact, rel=1e-6)


def direct_mmd(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, written out pair by pair over the kernel matrices."""
    d, m = x.shape[1], len(x)
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    off = lambda kk: kk.sum() - np.trace(kk)  # noqa: E731
    return float((off(kxx) + off(kyy)) / (m * (m - 1)) - 2 * kxy.sum() / m**2)


def test_kernel_distance_agrees_with_a_direct_mmd() -> None:
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(60, 8)), rng.normal(size=(60, 8)) + 0.5
    whole = kernel_distance(real, fake, subsets=3, subset_size=60)  # every subset is the whole set, permuted
    assert whole.mean == pytest.approx(direct_mmd(real, fake), rel=1e-9)
    assert whole.std == pytest.approx(0, abs=1e-12) and whole.subset_size == 60
    # subsets: the mean over subsets estimates the same MMD; the seed makes it reproducible
    sub = kernel_distance(real, fake, subsets=50, subset_size=30, seed=4)
    assert sub == kernel_distance(real, fake, subsets=50, subset_size=30, seed=4)
    assert sub.std > 0 and abs(sub.mean - whole.mean) < 3 * sub.std
    same = kernel_distance(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)), subsets=20, subset_size=100)
    assert abs(same.mean) < 3 * same.std + 1e-3  # one distribution: an unbiased estimate of 0
    before = torch.random.get_rng_state()
    kernel_distance(real, fake, subsets=5, subset_size=20, seed=9)
    assert torch.equal(before, torch.random.get_rng_state())  # a training run's random state is left alone


def test_kid_subset_size_defaults_to_the_images_and_refuses_too_large() -> None:
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(40, 4)), rng.normal(size=(25, 4))
    assert kernel_distance(real, fake, subsets=2).subset_size == 25  # min(1000, real, fake)
    with pytest.raises(DataError, match=r"--kid-subset-size 30: only 25 generated images"):
        kernel_distance(real, fake, subset_size=30)
    with pytest.raises(DataError, match="at least 2"):
        kernel_distance(real, fake[:1])


def test_psnr_and_ssim_per_image() -> None:
    torch.manual_seed(0)
    target = torch.rand(2, 3, 32, 32)
    noisy = (target + 0.1 * torch.randn_like(target)).clamp(0, 1)
    values = psnr(noisy, target)
    mse = ((noisy - target) ** 2).flatten(1).mean(1)
    assert torch.allclose(values, 10 * torch.log10(1 / mse), atol=1e-4)
    assert torch.isinf(psnr(target, target)).all()
    assert torch.allclose(ssim(target, target), torch.ones(2), atol=1e-5)
    assert (ssim(noisy, target) < 0.99).all() and ssim(noisy, target).shape == (2,)


# --- the measuring networks' weights ---------------------------------------------------------------------------
def test_the_fid_layout_is_torch_fidelitys() -> None:
    """The Inception layout checked here is the one torch-fidelity's extractor builds (and loads strictly)."""
    from unittest import mock

    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict"), mock.patch("torch.load", return_value={}):
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], "unused")
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert shapes == expected_shapes(INCEPTION.name)


def test_inception_and_lpips_run_on_weights_files_of_the_published_layout(weights_home: Path) -> None:
    folder = weights_home / "weights"
    source = WeightsSource.from_files([folder / WEIGHTS[INCEPTION.name].file, folder / "squeezenet1_1-b8a52dc0.pth"])
    net, path = inception(source)
    images = torch.randint(0, 256, (2, 3, 64, 80), dtype=torch.uint8)
    features = net(images)
    assert features.shape == (2, 2048) and torch.isfinite(features).all() and path.name.startswith("pt_inception")
    assert not torch.allclose(features[0], features[1])
    lpips = LPIPS(lpips_network("squeeze", source)[0])
    a, b = torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1
    distances = lpips(a, b)
    assert distances.shape == (2,) and torch.isfinite(distances).all()
    assert torch.allclose(lpips(a, a), torch.zeros(2), atol=1e-6) and (distances > 0).all()
    # the backbone really is the file's: other weights give other distances
    other = write_weights(folder.parent / "other", "squeezenet1_1", seed=7)
    assert not torch.allclose(LPIPS(lpips_network("squeeze", WeightsSource.from_files([other]))[0])(a, b), distances)


def test_weights_files_are_recognised_and_bad_ones_named(weights_home: Path, tmp_path: Path) -> None:
    folder = weights_home / "weights"
    alex = folder / LPIPS_BACKBONES["alex"].file
    assert WeightsSource.from_files([alex]).given == {"alexnet": alex}
    with pytest.raises(ConfigError, match="already gives"):
        WeightsSource.from_files([alex, alex])
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(CheckpointError, match=r"junk.pth: not a loadable PyTorch weights file"):
        WeightsSource.from_files([junk])
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, wrong)
    with pytest.raises(ConfigError, match=r"wrong.pth: not the weights of a network the metrics use"):
        WeightsSource.from_files([wrong])
    # a cached file of the wrong kind (a damaged download) is named, not loaded
    fake_home = tmp_path / "home"
    (fake_home / "weights").mkdir(parents=True)
    torch.save(random_state("squeezenet1_1"), fake_home / "weights" / WEIGHTS[INCEPTION.name].file)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("I2I_HOME", str(fake_home))
        with pytest.raises(ConfigError, match=r"not the Inception v3 \(FID, KID\) weights"):
            inception(WeightsSource({}))
