"""The classic ten-line gradient descent, and the same numbers from gradreg.

Run: python examples/classic_loop.py
"""

import gradreg

data = gradreg.load_study_time()
x, y = data.hours.tolist(), data.score.tolist()

# The loop as tutorials write it: predictions, cost, two partial derivatives, two updates.
m, b, learning_rate, epochs = 0.0, 0.0, 0.01, 5000
n = float(len(x))
for _ in range(epochs):
    predictions = [m * xi + b for xi in x]
    cost = sum((yi - pi) ** 2 for yi, pi in zip(y, predictions, strict=True)) / n
    dm = -(2 / n) * sum(xi * (yi - pi) for xi, yi, pi in zip(x, y, predictions, strict=True))
    db = -(2 / n) * sum(yi - pi for yi, pi in zip(y, predictions, strict=True))
    m, b = m - learning_rate * dm, b - learning_rate * db

# The loop's `cost` is that of the m and b before the last step; the cost of the m and b it
# ends with (the one gradreg returns and prints) is one more evaluation.
cost = sum((yi - (m * xi + b)) ** 2 for xi, yi in zip(x, y, strict=True)) / n
print(f"classic loop:              m = {m:.6f}, b = {b:.6f}, cost = {cost:.6f}")

m2, b2, cost2 = gradreg.gradient_descent(data.hours, data.score, learning_rate, epochs)
print(f"gradreg.gradient_descent:  m = {m2:.6f}, b = {b2:.6f}, cost = {cost2:.6f}")

# The same descent (same learning rate, same cost) in the estimator, run to convergence.
model = gradreg.GDRegressor(solver="gd", optimizer="plain", standardize=False,
                            learning_rate=learning_rate, max_iter=20_000)
model.fit(data.X, data.score)
print(f"GDRegressor ({model.n_iter_} epochs):     m = {model.coef_[0]:.6f}, "
      f"b = {model.intercept_:.6f}, cost = {model.history_['loss'][-1]:.6f}, "
      f"converged: {model.converged_}")
assert abs(m - m2) < 1e-9 and abs(b - b2) < 1e-9
