"""The inspector records exactly what a manual forward/backward/Adam step computes."""
import numpy as np

from npae import Adam, mse_loss
from npae.inspect import Inspector, stats
from npae.models import disk_autoencoder


def test_records_match_a_manual_step():
    batch = np.random.default_rng(0).random((4, 1, 16, 16)).astype(np.float32)
    model = disk_autoencoder("talk", image_size=16, channels=3, rng=0)
    twin = disk_autoencoder("talk", image_size=16, channels=3, rng=0)
    record = Inspector(model, Adam(model, lr=1e-3)).step(batch)

    twin_opt = Adam(twin, lr=1e-3)
    y = twin.forward(batch)
    loss, grad = mse_loss(y, batch)
    twin.backward(grad)
    grads = {k: v.copy() for k, v in twin.grads.items()}
    before = {k: v.copy() for k, v in twin.params.items()}
    twin_opt.step()

    assert record.step == 1 and record.loss_before == loss
    assert record.loss_after == mse_loss(twin.forward(batch), batch)[0]
    np.testing.assert_array_equal(record.layers[-1].output, y)
    assert record.layers[0].input is batch and len(record.layers) == len(list(model.named_layers()))
    for name, p in record.params.items():
        np.testing.assert_array_equal(p.before, before[name])
        np.testing.assert_array_equal(p.grad, grads[name])
        np.testing.assert_array_equal(p.moments["m"], twin_opt.state[name]["m"])
        np.testing.assert_array_equal(p.moments["v"], twin_opt.state[name]["v"])
        np.testing.assert_array_equal(p.update, twin.params[name] - before[name])
        if np.linalg.norm(before[name]) > 0:
            assert np.isclose(p.update_ratio, np.linalg.norm(p.update) / np.linalg.norm(before[name]))
        else:
            assert p.update_ratio == np.inf
    table = record.table()
    assert "encoder.0" in table and "decoder.0.weight" in table
    arrays = record.arrays()
    assert "param/encoder.0.weight/m" in arrays and "activation/decoder.0/output" in arrays


def test_stats():
    s = stats(np.array([0.0, 3.0, -4.0]))
    assert s["norm"] == 5.0 and s["min"] == -4.0 and np.isclose(s["zeros"], 1 / 3)
