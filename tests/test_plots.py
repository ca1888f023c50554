"""The shared figures: what a reader must be able to see is not hidden by a legend or an info box."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bayesfit.output.plots import plot_hist_fit  # noqa: E402


@pytest.mark.parametrize("peaks", [(9.46, 10.02, 10.36), (9.30, 9.80, 10.50), (9.9,)])
def test_legend_and_info_box_sit_above_every_peak(peaks):
    """Three Υ-like peaks, one at each edge of the window: the boxes must not cover data or curves."""
    rng = np.random.default_rng(1)
    lo, hi = 9.2, 10.6
    data = np.concatenate([rng.normal(m, 0.03, 3000) for m in peaks] + [rng.uniform(lo, hi, 2000)])
    data = data[(data > lo) & (data < hi)]
    edges = np.linspace(lo, hi, 71)
    x = np.linspace(lo, hi, 400)
    width = edges[1] - edges[0]
    total = 2000 / (hi - lo) * width + sum(3000 * width * np.exp(-0.5 * ((x - m) / 0.03) ** 2) / (0.03 * np.sqrt(2 * np.pi))
                                           for m in peaks)
    counts, _ = np.histogram(data, bins=edges)
    fig = plot_hist_fit(data, edges, np.maximum(counts, 1), [("Total fit", x, total, "C0-")], xlabel="m(μμ)",
                        unit="GeV", info_lines=["three peaks", "shared width", "χ²/NDF = 1.0", "more", "lines"])
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    to_data = ax.transData.inverted()
    centers = 0.5 * (edges[1:] + edges[:-1])
    tops = counts + np.sqrt(counts)
    for box in (ax.get_legend(), ax.texts[0]):
        (x0, y0), (x1, _) = to_data.transform(box.get_window_extent(renderer).get_points())
        under = (centers >= x0) & (centers <= x1)
        assert under.any()
        assert tops[under].max() < y0, (box, tops[under].max(), y0)
        assert total[(x >= x0) & (x <= x1)].max() < y0
    plt.close(fig)
