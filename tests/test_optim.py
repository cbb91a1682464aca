"""Update rules: hand-computed steps, and each one converging on a quadratic."""

import math

import numpy as np
import pytest

from conftest import assert_within, rounding_bound
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
    # 5000 steps take each rule to its fixed point, where the gradient H (p - m) is only
    # rounding (a few roundings of |m|: subtract, multiply, update, add = 4); H^-1 carries it
    # to the parameters times H's condition number.
    condition = 9.0
    assert_within(params, minimum, rounding_bound(condition, 4) * np.abs(minimum).max())


def test_plain_step_by_hand():
    updates, _ = optim.plain(0.5).update(np.array([2.0, -4.0]), optim.plain(0.5).init(np.zeros(2)))
    np.testing.assert_array_equal(updates, [-1.0, 2.0])  # products by 0.5 are exact


def test_momentum_steps_by_hand():
    opt = optim.momentum(0.1, momentum=0.9)
    state = opt.init(np.zeros(1))
    first, state = opt.update(np.array([1.0]), state)
    second, state = opt.update(np.array([2.0]), state)
    # Each side rounds its trace (2) and the step (1): 2 x 3 roundings between them.
    expected = np.array([-0.1, -0.1 * (0.9 * 1.0 + 2.0)])
    assert_within([first[0], second[0]], expected, rounding_bound(1.0, 6) * np.abs(expected))


def test_nesterov_steps_by_hand():
    opt = optim.nesterov(0.1, momentum=0.9)
    state = opt.init(np.zeros(1))
    first, state = opt.update(np.array([1.0]), state)
    second, _ = opt.update(np.array([2.0]), state)
    trace = 0.9 * 1.0 + 2.0
    expected = np.array([-0.1 * (1.0 + 0.9 * 1.0), -0.1 * (2.0 + 0.9 * trace)])
    # Trace (2), look-ahead (2), step (1) on each side: 2 x 5 roundings of positive terms.
    assert_within([first[0], second[0]], expected, rounding_bound(1.0, 10) * np.abs(expected))


def test_adam_steps_by_hand():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    opt = optim.adam(lr, b1=b1, b2=b2, eps=eps)
    state = opt.init(np.zeros(1))
    _, state = opt.update(np.array([1.0]), state)
    second, state = opt.update(np.array([3.0]), state)
    mu = (1 - b1) * (b1 * 1.0 + 3.0)
    nu = (1 - b2) * (b2 * 1.0 + 9.0)
    expected = -lr * (mu / (1 - b1**2)) / (math.sqrt(nu / (1 - b2**2)) + eps)
    # About 12 roundings on each side (moments 4, corrections 4, root, eps, division, rate),
    # of positive terms: no cancellation to amplify them.
    assert_within(second, [expected], rounding_bound(1.0, 2 * 12) * abs(expected))
    assert state[0].count == 2


def test_adagrad_steps_by_hand():
    opt = optim.adagrad(1.0, initial_accumulator_value=0.1, eps=1e-7)
    state = opt.init(np.zeros(1))
    first, state = opt.update(np.array([2.0]), state)
    second, _ = opt.update(np.array([1.0]), state)
    expected = np.array([-2.0 / math.sqrt(4.1 + 1e-7), -1.0 / math.sqrt(5.1 + 1e-7)])
    # Accumulator (2), eps, root, division, rate: 2 x 6 roundings of positive terms.
    assert_within([first[0], second[0]], expected, rounding_bound(1.0, 12) * np.abs(expected))


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
    # A few roundings (4) of terms no larger than the initial rate, the largest value.
    bound = rounding_bound(1.0, 4) * max(expected)
    assert_within([schedule(t) for t in range(3)], expected, bound)


def test_as_schedule_turns_a_float_into_a_constant():
    assert optim.as_schedule(0.2)(10) == 0.2
    custom = schedules.step_decay(1.0)
    assert optim.as_schedule(custom) is custom
