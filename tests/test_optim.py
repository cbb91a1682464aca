"""Update rules: hand-computed steps, and each one converging on a quadratic."""

import math

import numpy as np
import pytest

from gradreg import optim
from gradreg.optim import OPTIMIZERS, schedules

# Every named optimizer with settings that converge on the quadratic below.
OPTIMIZER_CASES = [
    ("plain", {"learning_rate": 0.1}),
    ("momentum", {"learning_rate": 0.05, "momentum": 0.5}),
    ("nesterov", {"learning_rate": 0.05, "momentum": 0.5}),
    ("adam", {"learning_rate": 0.05}),
    ("adagrad", {"learning_rate": 0.5}),
]


def test_every_registered_optimizer_has_a_case():
    assert {name for name, _ in OPTIMIZER_CASES} == set(OPTIMIZERS)


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZER_CASES)
def test_converges_on_a_quadratic_with_a_known_minimum(name, kwargs):
    hessian = np.diag([1.0, 4.0, 9.0])
    minimum = np.array([1.0, -2.0, 0.5])
    optimizer = OPTIMIZERS[name](**kwargs)
    params = np.zeros(3)
    state = optimizer.init(params)
    for _ in range(5000):
        grads = hessian @ (params - minimum)
        updates, state = optimizer.update(grads, state)
        params = params + updates
    np.testing.assert_allclose(params, minimum, atol=1e-4)


def test_plain_step_by_hand():
    updates, _ = optim.plain(0.5).update(np.array([2.0, -4.0]), optim.plain(0.5).init(np.zeros(2)))
    np.testing.assert_allclose(updates, [-1.0, 2.0])


def test_momentum_steps_by_hand():
    opt = optim.momentum(0.1, momentum=0.9)
    state = opt.init(np.zeros(1))
    first, state = opt.update(np.array([1.0]), state)
    second, state = opt.update(np.array([2.0]), state)
    np.testing.assert_allclose(first, [-0.1])
    np.testing.assert_allclose(second, [-0.1 * (0.9 * 1.0 + 2.0)])


def test_nesterov_steps_by_hand():
    opt = optim.nesterov(0.1, momentum=0.9)
    state = opt.init(np.zeros(1))
    first, state = opt.update(np.array([1.0]), state)
    second, _ = opt.update(np.array([2.0]), state)
    np.testing.assert_allclose(first, [-0.1 * (1.0 + 0.9 * 1.0)])
    trace = 0.9 * 1.0 + 2.0
    np.testing.assert_allclose(second, [-0.1 * (2.0 + 0.9 * trace)])


def test_adam_steps_by_hand():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    opt = optim.adam(lr, b1=b1, b2=b2, eps=eps)
    state = opt.init(np.zeros(1))
    _, state = opt.update(np.array([1.0]), state)
    second, state = opt.update(np.array([3.0]), state)
    mu = (1 - b1) * (b1 * 1.0 + 3.0)
    nu = (1 - b2) * (b2 * 1.0 + 9.0)
    expected = -lr * (mu / (1 - b1**2)) / (math.sqrt(nu / (1 - b2**2)) + eps)
    np.testing.assert_allclose(second, [expected], rtol=1e-12)
    assert state[0].count == 2


def test_adagrad_steps_by_hand():
    opt = optim.adagrad(1.0, initial_accumulator_value=0.1, eps=1e-7)
    state = opt.init(np.zeros(1))
    first, state = opt.update(np.array([2.0]), state)
    second, _ = opt.update(np.array([1.0]), state)
    np.testing.assert_allclose(first, [-2.0 / math.sqrt(4.1 + 1e-7)])
    np.testing.assert_allclose(second, [-1.0 / math.sqrt(5.1 + 1e-7)])


def test_updates_are_pure():
    opt = optim.adam(0.1)
    state = opt.init(np.zeros(2))
    grads = np.array([1.0, 2.0])
    a, _ = opt.update(grads, state)
    b, _ = opt.update(grads, state)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(state[0].mu, np.zeros(2))


def test_a_schedule_is_accepted_wherever_a_rate_is():
    opt = optim.plain(schedules.exponential_decay(1.0, 0.5))
    state = opt.init(np.zeros(1))
    steps = []
    for _ in range(3):
        update, state = opt.update(np.array([1.0]), state)
        steps.append(-float(update[0]))
    assert steps == [1.0, 0.5, 0.25]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (schedules.constant(0.3), [0.3, 0.3, 0.3]),
        (schedules.inverse_scaling(1.0, 1.0), [1.0, 0.5, 1 / 3]),
        (schedules.exponential_decay(2.0, 0.5), [2.0, 1.0, 0.5]),
        (schedules.step_decay(1.0, step_size=2, factor=0.1), [1.0, 1.0, 0.1]),
        (schedules.cosine_decay(1.0, decay_steps=2), [1.0, 0.5, 0.0]),
    ],
)
def test_schedules(schedule, expected):
    np.testing.assert_allclose([schedule(t) for t in range(3)], expected, atol=1e-15)


def test_as_schedule_turns_a_float_into_a_constant():
    assert optim.as_schedule(0.2)(10) == 0.2
    custom = schedules.step_decay(1.0)
    assert optim.as_schedule(custom) is custom
