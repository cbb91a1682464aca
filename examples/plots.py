"""Every plot gradreg draws, written to a folder (the README's images come from here).

Run: python examples/plots.py [FOLDER]   (default: docs/images)
"""

import sys
from pathlib import Path

from sklearn.datasets import load_diabetes

import gradreg
from gradreg import plotting

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
folder.mkdir(parents=True, exist_ok=True)
data = gradreg.load_study_time()

# The tutorial's descent: plain gradient descent on the raw data, learning rate 0.01.
model = gradreg.GDRegressor(solver="gd", optimizer="plain", standardize=False,
                            learning_rate=0.01, max_iter=20_000)
model.fit(data.X, data.score)
plotting.save_figure(
    plotting.plot_fit(model, data.X, data.score, xlabel="hours studied", ylabel="test score"),
    folder / "line.png",
)
plotting.save_figure(plotting.plot_cost(model), folder / "cost.png")
plotting.save_figure(
    plotting.plot_path(data.X, data.score, epochs=300, feature_names=["hours"]),
    folder / "path.png",
)
# Ten features: an exact slice through the optimum along the most coupled pair.
diabetes = load_diabetes()
plotting.save_figure(
    plotting.plot_path(diabetes.data, diabetes.target, epochs=300,
                       feature_names=diabetes.feature_names),
    folder / "path-slice.png",
)
plotting.save_figure(plotting.plot_rates(data.X, data.score), folder / "rates.png")
plotting.save_animation(data.X, data.score, folder / "descent.gif", frames=30,
                        xlabel="hours studied", ylabel="test score")
print(f"images written to {folder}")
