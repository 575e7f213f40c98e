"""One builder, one container, one training step: every model and every step goes through the same code."""
import numpy as np
import pytest

import npae
from npae.models import disk_autoencoder, conv_autoencoder
from npae.presets import TALK_CHANNELS
from npae.train import Trainer, TrainConfig


def test_talk_preset_and_conv_autoencoder_are_the_same_network():
    preset = disk_autoencoder("talk", rng=0)
    generic = conv_autoencoder((1, 64, 64), list(TALK_CHANNELS), rng=0)
    assert [repr(layer) for _, layer in preset.named_layers()] == [repr(layer) for _, layer in generic.named_layers()]
    assert preset.params.keys() == generic.params.keys()
    assert all(np.array_equal(preset.params[k], generic.params[k]) for k in preset.params)


def test_an_autoencoder_is_a_sequential_of_encoder_and_decoder():
    model = disk_autoencoder("talk", image_size=16, channels=4, rng=0)
    assert isinstance(model, npae.Sequential) and model.names == ["encoder", "decoder"]
    assert model.encoder is model.layers[0] and model.decoder is model.layers[1]
    x = npae.data.disks(3, 16, rng=np.random.default_rng(0))[0]
    assert np.array_equal(model.forward(x), npae.Sequential(model.encoder, model.decoder).forward(x))
    assert all(name.startswith(("encoder.", "decoder.")) for name in model.params)


def test_a_model_from_conv_autoencoder_trains_saves_and_loads(tmp_path):
    model = conv_autoencoder((1, 1, 16), channels=4, rng=0)
    data = np.eye(16, dtype=np.float32).reshape(16, 1, 1, 16)
    config = TrainConfig(steps=6, batch_size=4, lr=1e-3, checkpoint_every=3)
    Trainer(model, config, run_dir=tmp_path, data=data).run(progress=False)
    loaded = npae.load_checkpoint(tmp_path)
    assert loaded.config.shape == (1, 1, 16)
    assert all(np.array_equal(loaded.params[k], model.params[k]) for k in model.params)
    resumed = Trainer.resume(tmp_path / "snapshots" / "step_0000003.npz", data=data, steps=6)
    for _ in resumed.steps():
        pass
    assert all(np.array_equal(resumed.model.params[k], model.params[k]) for k in model.params)


def _twin_trainers():
    config = TrainConfig(steps=10, batch_size=4, lr=1e-2, train_size=16, checkpoint_every=0)
    make = lambda: Trainer(disk_autoencoder("talk", image_size=16, channels=4, rng=1), config)  # noqa: E731
    plain, inspected = make(), make()
    for trainer in (plain, inspected):
        for _ in range(3):
            trainer.train_step(trainer.next_batch())
    return plain, inspected


def test_a_step_with_the_inspector_attached_is_the_plain_step_bit_for_bit():
    plain, inspected = _twin_trainers()
    batch = plain.next_batch()
    assert np.array_equal(batch, inspected.next_batch())
    loss = plain.train_step(batch)
    record = inspected.inspect_step(batch)
    assert record.loss_before == loss
    for name, value in plain.model.params.items():
        assert np.array_equal(value, inspected.model.params[name])
        for moment in ("m", "v"):
            assert np.array_equal(plain.optimizer.state[name][moment], inspected.optimizer.state[name][moment])
            assert np.array_equal(record.params[name].moments[moment], inspected.optimizer.state[name][moment])
    assert record.layers[0].input is batch and record.layers[-1].output.shape == batch.shape
    assert all(layer.grad_input is not None for layer in record.layers)


def _poison_gradient(trainer):
    conv = trainer.model.decoder.layers[0]
    original = conv.backward

    def backward(grad):
        result = original(grad)
        conv.grads["weight"][0, 0, 0, 0] = np.nan
        return result

    conv.backward = backward


@pytest.mark.parametrize("how", ["train_step", "inspect_step", "inspector"])
def test_every_way_of_stepping_refuses_a_non_finite_gradient(how):
    trainer, _ = _twin_trainers()
    _poison_gradient(trainer)
    before = {k: v.copy() for k, v in trainer.model.params.items()}
    moments = {k: {m: v.copy() for m, v in s.items()} for k, s in trainer.optimizer.state.items()}
    batch = trainer.next_batch()
    with pytest.raises(npae.TrainingDiverged, match="gradient of decoder.0.weight"):
        if how == "inspector":
            npae.Inspector(trainer.model, trainer.optimizer).step(batch)
        else:
            getattr(trainer, how)(batch)
    assert all(np.array_equal(before[k], v) for k, v in trainer.model.params.items())
    assert all(np.array_equal(moments[k][m], trainer.optimizer.state[k][m]) for k in moments for m in ("m", "v"))
    assert trainer.step_count == 3 and trainer.optimizer.step_count == 3
