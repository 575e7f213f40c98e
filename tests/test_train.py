"""Trainer: loss decreases, resume is bit-exact, NaN stops cleanly, bad checkpoints are refused."""
import json

import numpy as np
import pytest

import npae
from npae.checkpoint import CheckpointError, atomic_savez, read_checkpoint
from npae.models import disk_autoencoder
from npae.train import Trainer, TrainConfig, TrainingDiverged, load_checkpoint


def tiny_model(bias=True, seed=0):
    return disk_autoencoder("talk", image_size=16, channels=4, bias=bias, rng=np.random.default_rng(seed))


def tiny_config(**kwargs):
    settings = dict(steps=60, batch_size=16, lr=3e-3, train_size=200, seed=0, checkpoint_every=20)
    settings.update(kwargs)
    return TrainConfig(**settings)


def test_loss_decreases():
    trainer = Trainer(tiny_model(), tiny_config(steps=150))
    history = trainer.run(progress=False)
    assert np.mean(history[-20:]) < 0.5 * np.mean(history[:5])


@pytest.mark.parametrize("train_size", [200, 0])
def test_resume_is_bit_exact(tmp_path, train_size):
    straight = Trainer(tiny_model(), tiny_config(steps=200, train_size=train_size), tmp_path / "a")
    straight.run(progress=False)
    first = Trainer(tiny_model(), tiny_config(steps=100, train_size=train_size), tmp_path / "b")
    first.run(progress=False)
    resumed = Trainer.resume(tmp_path / "b", steps=200)
    resumed.run(progress=False)
    for name, value in straight.model.params.items():
        np.testing.assert_array_equal(resumed.model.params[name], value)
    for name, moments in straight.optimizer.state.items():
        np.testing.assert_array_equal(resumed.optimizer.state[name]["v"], moments["v"])
    assert resumed.loss_history == straight.loss_history


def test_nan_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = Trainer(tiny_model(), tiny_config(steps=40), tmp_path)
    trainer.run(progress=False)
    on_disk = read_checkpoint(tmp_path / "checkpoint.npz")
    good = {k: v.copy() for k, v in trainer.model.params.items()}
    clean = trainer.train_images.copy()
    trainer.train_images[:] = np.nan
    with pytest.raises(TrainingDiverged, match=r"at step 41.*parameters of step 40; that state is saved in"):
        trainer.run(until=60, progress=False)
    again = read_checkpoint(tmp_path / "checkpoint.npz")
    assert again[0] == on_disk[0]
    for saved, resaved in zip(on_disk[1:3], again[1:3]):
        assert all(np.array_equal(saved[k], resaved[k]) for k in saved)
    for name, value in good.items():
        np.testing.assert_array_equal(trainer.model.params[name], value)
    trainer.train_images[:] = clean
    trainer.run(until=45, progress=False)
    straight = Trainer(tiny_model(), tiny_config(steps=40))
    straight.run(until=45, progress=False)
    assert all(np.array_equal(straight.model.params[k], v) for k, v in trainer.model.params.items())


def test_checkpoint_contents_and_load(tmp_path):
    trainer = Trainer(tiny_model(), tiny_config(steps=20), tmp_path)
    trainer.run(progress=False)
    meta, params, optim, history = read_checkpoint(tmp_path / "checkpoint.npz")
    assert meta["step"] == 20 and len(history) == 20 and "step" in optim
    assert set(params) == set(trainer.model.params)
    model = npae.load_checkpoint(tmp_path)
    x = trainer.train_images[:4]
    np.testing.assert_array_equal(model.decoder.forward(model.encoder.forward(x)), trainer.model.forward(x))
    assert not list(tmp_path.glob("*.tmp")), "no temporary file may remain"


def test_corrupt_and_foreign_checkpoints_are_refused(tmp_path):
    trainer = Trainer(tiny_model(), tiny_config(steps=20), tmp_path)
    trainer.run(progress=False)
    path = tmp_path / "checkpoint.npz"
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    with pytest.raises(CheckpointError, match="is not an npae-checkpoint"):
        load_checkpoint(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(CheckpointError):
        load_checkpoint(pickled)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.npz")


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    trainer = Trainer(tiny_model(), tiny_config(steps=20), tmp_path)
    trainer.run(progress=False)
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as archive:
        contents = {key: archive[key] for key in archive.files}
    meta = json.loads(str(contents["meta"]))
    meta["model_config"]["channels"] = [6]
    atomic_savez(tmp_path / "mismatch.npz", {**contents, "meta": np.array(json.dumps(meta))})
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        load_checkpoint(tmp_path / "mismatch.npz")
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        Trainer.resume(tmp_path / "mismatch.npz")


def test_step_iterator_lets_users_stop_and_continue():
    trainer = Trainer(tiny_model(), tiny_config(steps=30))
    seen = []
    for result in trainer.steps():
        seen.append(result.step)
        if result.step == 10:
            break
    assert seen[-1] == 10 and trainer.step_count == 10
    grads = trainer.model.grads
    assert all(np.isfinite(g).all() for g in grads.values())
    list(trainer.steps())
    assert trainer.step_count == 30


def test_bias_free_trained_decoder_is_positively_homogeneous():
    trainer = Trainer(tiny_model(bias=False), tiny_config(steps=60))
    trainer.run(progress=False)
    decoder = trainer.model.decoder.astype(np.float64)
    z = np.array([0.3, 1.0, 2.5]).reshape(3, 1, 1, 1)
    out = decoder.forward(z)
    for scale in (0.0, 0.5, 3.0, 17.0):
        np.testing.assert_allclose(decoder.forward(scale * z), scale * out, rtol=1e-12, atol=1e-14)


def test_weight_decay_on_encoder_only():
    trainer = Trainer(tiny_model(), tiny_config(weight_decay=0.1, decay_on="encoder"))
    assert trainer.optimizer.decay("encoder.0.weight") and not trainer.optimizer.decay("decoder.0.weight")
    with pytest.raises(ValueError, match="decay_on"):
        tiny_config(decay_on="decoder")


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_non_finite_gradient_stops_before_the_update():
    trainer = Trainer(tiny_model(), tiny_config(steps=5))
    trainer.run(progress=False)
    good = {k: v.copy() for k, v in trainer.model.params.items()}
    batch = trainer.next_batch()
    batch[0, 0, 0, 0] = np.float32(3e38)
    with pytest.raises(TrainingDiverged, match="at step 6"):
        trainer.train_step(batch)
    for name, value in good.items():
        np.testing.assert_array_equal(trainer.model.params[name], value)
    assert trainer.step_count == 5


def test_checkpoints_with_non_finite_weights_are_not_written(tmp_path):
    trainer = Trainer(tiny_model(), tiny_config(steps=1), tmp_path)
    trainer.model.params["decoder.0.weight"][...] = np.nan
    with pytest.raises(CheckpointError, match="NaN"):
        trainer.save()
    assert not (tmp_path / "checkpoint.npz").exists()


def test_inspect_step_is_a_training_step():
    plain, inspected = Trainer(tiny_model(), tiny_config(steps=8)), Trainer(tiny_model(), tiny_config(steps=8))
    plain.run(progress=False)
    for _ in inspected.steps(until=3):
        pass
    record = inspected.inspect_step()
    inspected.run(progress=False)
    assert record.step == 4 and inspected.step_count == 8
    assert inspected.loss_history == plain.loss_history
    for name, value in plain.model.params.items():
        np.testing.assert_array_equal(inspected.model.params[name], value)


def test_config_converts_and_checks_types():
    config = TrainConfig(steps=np.int64(10), lr="0.01")
    assert type(config.steps) is int and config.lr == 0.01
    for bad in (dict(checkpoint_every=-1), dict(supersample=0), dict(blur_sigma=-1.0), dict(lr_schedule="step")):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


def test_optimizer_state_must_be_complete(tmp_path):
    trainer = Trainer(tiny_model(), tiny_config(steps=3))
    trainer.run(progress=False)
    state = trainer.optimizer.state_dict()
    del state["decoder.0.weight/v"]
    with pytest.raises(ValueError, match="expected \\['m', 'v'\\]"):
        trainer.optimizer.load_state_dict(state)
