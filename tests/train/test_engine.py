"""The training program: chunks, seeds, divergence, evaluation."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqlab.registry import TASKS
from seqlab.train import loop
from seqlab.train.optim import make_optimizer
from seqlab.train.state import Engine, init_state, seed_values
from tests.conftest import small_config


def setup(cfg, seeds=None, strategy="auto"):
    task = TASKS.get(cfg.task.name)(cfg.task)
    tx = make_optimizer(cfg.optim, cfg.train.steps)
    graphdef, state = init_state(cfg.model, task, tx, seeds or seed_values(cfg.train))
    return Engine(graphdef, task, tx, cfg.train.batch_size, seed_strategy=strategy), state


def run_chunks(engine, state, sizes):
    """Runs chunks of the given sizes (the input state is donated: do not reuse it)."""
    compiled = {}
    for k in sizes:
        if k not in compiled:
            compiled[k] = loop.compile_chunk(engine, state, k, state.step.shape[0])
        state, metrics = compiled[k](state)
    return state, metrics


def leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(state.params)]


@pytest.mark.parametrize("strategy", ["vmap", "map", "devices", "devices-vmap"])
def test_seed_in_multi_seed_program_equals_single_seed_run(strategy):
    """Every way of running seeds together gives each seed its own run. `devices`: three
    seeds over the suite's two CPU devices (conftest), so the seeds are padded to four."""
    assert jax.local_device_count() == 2
    cfg = small_config()
    engine, multi = setup(cfg, seeds=[3, 4, 5], strategy=strategy)
    _, single = setup(cfg, seeds=[5])
    chunk = loop.compile_chunk(engine, multi, 10, 3)
    if strategy.startswith("devices"):  # the program really runs on both devices
        assert len(chunk.input_shardings[0][0].params["layers"][0]["w_hh"].device_set) == 2
    multi, metrics = chunk(multi)
    single, single_metrics = run_chunks(engine, single, [10])
    assert metrics["loss"].shape == (3,)
    np.testing.assert_allclose(metrics["loss"][2], single_metrics["loss"][0], rtol=2e-5)
    for m, s in zip(leaves(multi), leaves(single), strict=True):
        assert m.shape[0] == 3
        np.testing.assert_allclose(m[2], s[0], rtol=2e-5, atol=2e-6)
    # and the seeds are really different models trained on different batches
    assert not np.allclose(leaves(multi)[0][0], leaves(multi)[0][1])


def test_auto_seed_strategy_spreads_seeds_over_cpu_devices():
    assert loop.seed_strategy("auto") == "devices"  # two CPU devices in the suite
    assert loop.seed_strategy("vmap") == "vmap"


def test_one_chunk_of_k_steps_equals_k_chunks_of_one_step():
    cfg = small_config()
    engine, state = setup(cfg, seeds=[0, 1])
    a, _ = run_chunks(engine, state, [6])
    _, state = setup(cfg, seeds=[0, 1])
    b, _ = run_chunks(engine, state, [1] * 6)
    assert int(a.step[0]) == int(b.step[0]) == 6
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_loss_goes_down():
    cfg = small_config(**{"task.name": "adding", "task.length": 10, "optim.lr": 1e-2})
    engine, state = setup(cfg)
    state, first = run_chunks(engine, state, [10])
    state, _ = run_chunks(engine, state, [200])
    _, last = run_chunks(engine, state, [10])
    assert float(last["loss"][0]) < 0.5 * float(first["loss"][0])


def test_non_finite_seed_is_frozen_and_others_go_on():
    cfg = small_config()
    engine, state = setup(cfg, seeds=[0, 1])
    w = state.params["layers"][0]["w_hh"]
    state.params["layers"][0]["w_hh"] = w.replace(w[...].at[0, 0, 0].set(jnp.inf))
    before = leaves(state)
    after, metrics = run_chunks(engine, state, [5])
    np.testing.assert_array_equal(np.asarray(after.diverged_at), [1, 0])
    for b, a in zip(before, leaves(after), strict=True):
        np.testing.assert_array_equal(a[0], b[0])  # seed 0 frozen at its old parameters
    assert any(not np.array_equal(a[1], b[1]) for b, a in zip(before, leaves(after), strict=True))
    assert np.isfinite(metrics["loss"][1]) and not np.isfinite(metrics["loss"][0])


def test_eval_batches_are_fixed_and_held_out():
    cfg = small_config()
    task = TASKS.get("copy")(cfg.task)
    a, b = loop.eval_batches(task, cfg.eval), loop.eval_batches(task, cfg.eval)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    assert a.inputs.shape == (cfg.eval.batches, task.spec.seq_len, cfg.eval.batch_size)
    _, state = setup(cfg)
    train_key = jax.random.fold_in(state.key[0], 0)
    train_batch = task.sample(train_key, cfg.eval.batch_size)
    assert not np.array_equal(train_batch.inputs, a.inputs[0])


def test_evaluate_matches_direct_loss():
    cfg = small_config()
    engine, state = setup(cfg, seeds=[0, 1])
    batches = loop.eval_batches(engine.task, cfg.eval)
    metrics = loop.compile_eval(engine, state, batches, 2)(state.params, batches)
    params1 = jax.tree.map(lambda x: x[1], state.params)
    direct = np.mean(
        [
            float(loop.loss_fn(engine, params1, jax.tree.map(lambda x, i=i: x[i], batches))[0])
            for i in range(cfg.eval.batches)
        ]
    )
    assert float(metrics["loss"][1]) == pytest.approx(direct, rel=1e-5)


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "sgd"])
def test_every_optimizer_trains(name):
    cfg = small_config(
        **{
            "optim.name": name,
            "optim.lr": 0.05 if name == "sgd" else 3e-3,
            "task.name": "adding",
            "task.length": 6,
        }
    )
    engine, state = setup(cfg)
    state, first = run_chunks(engine, state, [5])
    _, last = run_chunks(engine, state, [150])
    assert float(last["loss"][0]) < float(first["loss"][0])


def test_clipping_and_schedules():
    cfg = small_config(
        **{"optim.name": "sgd", "optim.lr": 1.0, "optim.clip_value": 0.5, "optim.clip_norm": 0.0}
    )
    tx = make_optimizer(cfg.optim, 100)
    g = {"w": jnp.array([3.0, -0.2, -7.0])}
    updates, _ = tx.update(g, tx.init(g))
    np.testing.assert_allclose(updates["w"], [-0.5, 0.2, 0.5])
    cfg = small_config(**{"optim.clip_norm": 1.0, "optim.name": "sgd", "optim.lr": 1.0})
    tx = make_optimizer(cfg.optim, 100)
    updates, _ = tx.update(g, tx.init(g))
    assert float(optax.tree.norm(updates)) == pytest.approx(1.0, rel=1e-5)
    cfg = small_config(
        **{
            "optim.schedule": "cosine",
            "optim.warmup_steps": 10,
            "optim.final_lr_fraction": 0.1,
            "train.steps": 100,
        }
    )
    from seqlab.train.optim import make_schedule

    sched = make_schedule(cfg.optim, 100)
    assert float(sched(0)) == 0.0
    assert float(sched(10)) == pytest.approx(cfg.optim.lr)
    assert float(sched(100)) == pytest.approx(0.1 * cfg.optim.lr)
    cfg = small_config(**{"optim.warmup_steps": 4})
    sched = make_schedule(cfg.optim, 60)
    assert float(sched(2)) == pytest.approx(cfg.optim.lr / 2)
    assert float(sched(50)) == pytest.approx(cfg.optim.lr)


def test_a_run_shorter_than_its_schedule_trains_the_schedules_first_steps():
    """optim.schedule_steps: 6,000 steps of a 20,000-step cosine see the whole cosine's rates
    (NX-AI's schedule stopped early), not a cosine compressed into 6,000 steps."""
    from seqlab.config import schedule_steps
    from seqlab.train.optim import make_schedule

    fields = {"optim.schedule": "cosine", "optim.warmup_steps": 2000, "train.steps": 6000}
    prefix = small_config(**fields, **{"optim.schedule_steps": 20_000})
    whole = small_config(**{**fields, "train.steps": 20_000})
    compressed = small_config(**fields)
    assert schedule_steps(prefix) == schedule_steps(whole) == 20_000
    assert schedule_steps(compressed) == 6000
    lr = {
        name: make_schedule(cfg.optim, schedule_steps(cfg))
        for name, cfg in [("prefix", prefix), ("whole", whole), ("compressed", compressed)]
    }
    for step in (0, 1000, 2000, 4000, 5999):
        assert float(lr["prefix"](step)) == float(lr["whole"](step))
    assert float(lr["prefix"](4000)) > 0.9 * prefix.optim.lr  # near the peak
    assert float(lr["compressed"](4000)) < 0.5 * prefix.optim.lr  # decayed


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "sgd"])
def test_flat_optimizer_equals_the_chain_on_each_array(name):
    """make_optimizer runs on the raveled parameters; its updates are the per-array chain's."""
    o = {"optim.name": name, "optim.clip_norm": 1.0, "optim.momentum": 0.9, "optim.lr": 0.1}
    cfg = small_config(**o, **{"optim.weight_decay": 0.1})
    flat = make_optimizer(cfg.optim, 100)
    rule = {
        "adam": lambda: optax.adam(0.1),
        "adamw": lambda: optax.adamw(0.1, weight_decay=0.1),
        "rmsprop": lambda: optax.rmsprop(0.1, decay=cfg.optim.decay, momentum=0.9),
        "sgd": lambda: optax.sgd(0.1, momentum=0.9),
    }[name]()
    reference = optax.chain(optax.clip_by_global_norm(1.0), rule)
    keys = jax.random.split(jax.random.key(0), 2)
    params = {"w": jax.random.normal(keys[0], (3, 4)), "b": jax.random.normal(keys[1], (4,))}
    states = [flat.init(params), reference.init(params)]
    assert all(x.ndim <= 1 for x in jax.tree.leaves(states[0]))  # vectors, not one per array
    for i in range(3):
        grads = jax.tree.map(lambda p, i=i: jnp.sin(p * (i + 1)) * 3, params)
        (u_flat, states[0]), (u_ref, states[1]) = (
            tx.update(grads, s, params) for tx, s in zip((flat, reference), states, strict=True)
        )
        for a, b in zip(jax.tree.leaves(u_flat), jax.tree.leaves(u_ref), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        params = optax.apply_updates(params, u_ref)
