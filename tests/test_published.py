"""The authors' trained models loaded into npae, held against PyTorch on the same weights.

The weights live in ../shared/reference (never in this repository); these tests skip when it is absent,
and the comparisons with PyTorch skip when PyTorch is not installed.
"""
from pathlib import Path

import numpy as np
import pytest

import npae
from npae.checkpoint import CheckpointError
from npae.data import disk_test_set, ellipses
from npae.published import fill, load_published_disk_ae, load_published_pcaae, read_arrays
from npae.statistics import abs_rank_corr

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
PCAAE = REFERENCE / "pcaae_ellipses"
DISK = REFERENCE / "disk_official_keras"
needs_pcaae = pytest.mark.skipif(not (PCAAE / "pcaae_ellipses_published.npz").exists(),
                                 reason="../shared/reference/pcaae_ellipses is absent")
needs_disk = pytest.mark.skipif(not (DISK / "disk_official_published.npz").exists(),
                                reason="../shared/reference/disk_official_keras is absent")


def torch_pcaae(arrays):
    """The authors' encoder 3 and decoder 3 written in PyTorch from their README, with their tensors."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    widths = [1, 32, 16, 8, 4, 2, 1]
    encoder = []
    for k in range(6):
        conv = nn.Conv2d(widths[k], widths[k + 1], 4, 2, 1)
        conv.weight.data = torch.from_numpy(arrays[f"encoder3.conv{k + 1}.weight"])
        conv.bias.data = torch.from_numpy(arrays[f"encoder3.conv{k + 1}.bias"])
        encoder += [conv] + ([nn.LeakyReLU(0.2)] if k < 5 else [])
    norm = nn.BatchNorm1d(1, affine=False, eps=1e-5).eval()
    norm.running_mean.data = torch.from_numpy(arrays["encoder3.zero_mean.running_mean"])
    norm.running_var.data = torch.from_numpy(arrays["encoder3.zero_mean.running_var"])
    decoder, channels = [], [3, 6, 12, 24, 48, 96, 1]
    for k in range(6):
        conv = nn.ConvTranspose2d(channels[k], channels[k + 1], 4, 2, 1)
        conv.weight.data = torch.from_numpy(arrays[f"decoder3.convT{6 - k}.weight"])
        conv.bias.data = torch.from_numpy(arrays[f"decoder3.convT{6 - k}.bias"])
        decoder += [conv] + ([nn.LeakyReLU(0.2)] if k < 5 else [nn.Sigmoid()])
    encode = lambda x: norm(nn.Sequential(*encoder)(torch.from_numpy(x)).reshape(-1, 1)).detach().numpy()[:, 0]  # noqa: E731
    decode = lambda z: nn.Sequential(*decoder)(torch.from_numpy(z).reshape(-1, 3, 1, 1)).detach().numpy()  # noqa: E731
    return encode, decode


@needs_pcaae
@pytest.mark.parametrize("name", ["pcaae_ellipses_published.npz", "PCAAE_ellipses.pt"])
def test_published_pcaae_equals_pytorch_on_the_same_weights(name):
    if name.endswith(".pt"):
        pytest.importorskip("torch")
    model = load_published_pcaae(PCAAE / name)
    encode, decode = torch_pcaae(read_arrays(PCAAE / "pcaae_ellipses_published.npz"))
    z = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    assert np.max(np.abs(model.decode(z) - decode(z))) <= 1e-5
    x, _ = ellipses(64, rng=np.random.default_rng(5))
    codes = model.encode_component(3, x)
    assert codes.shape == (64,) and np.max(np.abs(codes - encode(x))) <= 1e-5 * max(1.0, np.abs(codes).max())


@needs_pcaae
def test_published_pcaae_without_torch_is_deterministic_and_refuses_other_encoders():
    model = load_published_pcaae(PCAAE / "pcaae_ellipses_published.npz")
    z = np.zeros((2, 3), np.float32)
    images = model.decode(z)
    assert images.shape == (2, 1, 64, 64) and np.all((images >= 0) & (images <= 1)) and images.std() > 0
    with pytest.raises(ValueError, match="only the third"):
        model.encode_component(1, np.zeros((1, 1, 64, 64), np.float32))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        model.decode(np.zeros((2, 2)))


def torch_disk_ae(arrays):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    layers = []
    for part, module in (("encoder", nn.Conv2d), ("decoder", nn.ConvTranspose2d)):
        for k in range(1, 6):
            kernel = arrays[f"{part}.{k}.kernel"].transpose(3, 2, 0, 1)
            conv = module(kernel.shape[1] if part == "encoder" else kernel.shape[0],
                          kernel.shape[0] if part == "encoder" else kernel.shape[1], 3, 2, 0)
            conv.weight.data = torch.from_numpy(np.ascontiguousarray(kernel))
            conv.bias.data = torch.from_numpy(arrays[f"{part}.{k}.bias"])
            layers += [conv, nn.LeakyReLU(0.05)]
    encoder, decoder = nn.Sequential(*layers[:10]), nn.Sequential(*layers[10:])
    return (lambda x: encoder(torch.from_numpy(x)).detach().numpy(),
            lambda x: decoder(encoder(torch.from_numpy(x))).detach().numpy())


@needs_disk
@pytest.mark.parametrize("name", ["disk_official_published.npz", "disk_example_model_weights.h5"])
def test_published_disk_ae_equals_pytorch_on_the_same_weights(name):
    if name.endswith(".h5"):
        pytest.importorskip("h5py")
    model = load_published_disk_ae(DISK / name)
    encode, forward = torch_disk_ae(read_arrays(DISK / "disk_official_published.npz"))
    x, attributes = disk_test_set(63, n=300, r_max=31.5)
    assert np.max(np.abs(model.encode(x) - encode(x))) <= 1e-5
    assert np.max(np.abs(model.forward(x) - forward(x))) <= 1e-5
    codes = model.encode(x).ravel()
    assert abs_rank_corr(codes, attributes["radius"] ** 2) > 0.999


def test_fill_names_every_missing_extra_or_misshapen_tensor():
    model = npae.Sequential(npae.Conv2d(1, 2, 3, rng=0), npae.Bias(2))
    good = {"w": np.ones((2, 1, 3, 3), np.float32), "b": np.zeros(2, np.float32)}
    mapping = {"0.weight": "w", "1.bias": "b"}
    fill(model, good, mapping, "src")
    assert np.all(model.params["0.weight"] == 1)
    with pytest.raises(CheckpointError, match=r"missing tensors \['b'\]"):
        fill(model, {"w": good["w"]}, mapping, "src")
    with pytest.raises(CheckpointError, match=r"unexpected tensors \['extra'\]"):
        fill(model, {**good, "extra": np.zeros(1)}, mapping, "src")
    with pytest.raises(CheckpointError, match=r"'w' has shape \(2, 1, 2, 2\)"):
        fill(model, {**good, "w": np.ones((2, 1, 2, 2))}, mapping, "src")
    with pytest.raises(ValueError, match="leaves"):
        fill(model, good, {"0.weight": "w"}, "src")
    before = model.params["0.weight"].copy()
    with pytest.raises(CheckpointError, match="NaN"):
        fill(model, {**good, "w": np.full((2, 1, 3, 3), np.nan)}, mapping, "src")
    assert np.array_equal(before, model.params["0.weight"])


def test_unknown_weight_formats_and_missing_files_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_arrays(tmp_path / "absent.npz")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="unknown weights format"):
        read_arrays(tmp_path / "weights.bin")
