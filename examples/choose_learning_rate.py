"""Choosing a learning rate: the stability limit 2/L, and what happens beyond it.

Run: python examples/choose_learning_rate.py
"""

import gradreg

data = gradreg.load_study_time()
limits = gradreg.learning_rate_limits(data.hours, data.score)
print(limits.explain())

for fraction in (0.5, 0.99, 1.01):
    rate = fraction * limits.max_stable
    try:
        m, b, cost = gradreg.gradient_descent(data.hours, data.score, rate, epochs=20_000)
        print(f"learning rate {rate:.5f} ({fraction} x 2/L): m = {m:.4f}, b = {b:.4f}")
    except gradreg.DivergenceError as error:
        print(f"learning rate {rate:.5f} ({fraction} x 2/L): {error}")
