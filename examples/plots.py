"""Every plot gradreg draws, written to a folder (the README's images come from here).

Run: python examples/plots.py [FOLDER]   (default: docs/images)
"""

import sys
import warnings
from pathlib import Path

import gradreg
from gradreg import plotting

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
folder.mkdir(parents=True, exist_ok=True)
data = gradreg.load_study_time()

model = gradreg.GDRegressor(solver="gd", optimizer="plain", standardize=False, max_iter=20_000)
model.fit(data.X, data.score)
plotting.save_figure(
    plotting.plot_fit(model, data.X, data.score, xlabel="hours studied", ylabel="test score"),
    folder / "line.png",
)
plotting.save_figure(plotting.plot_cost(model), folder / "cost.png")
plotting.save_figure(
    plotting.plot_path(data.X, data.score, epochs=300, names=("slope m", "intercept b")),
    folder / "path.png",
)
plotting.save_figure(plotting.plot_rates(data.X, data.score), folder / "rates.png")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    plotting.save_animation(data.X, data.score, folder / "descent.gif", frames=30)
print(f"images written to {folder}")
