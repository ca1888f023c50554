"""What a user reads: tables, numbers, figures and the output folder.

- :mod:`~bayesfit.output.report`: the comparison table, ``summary.md`` and every file of a run;
- :mod:`~bayesfit.output.formatting`: the PDG rounding rule, p-values and units;
- :mod:`~bayesfit.output.plots`: the figures shared by every model;
- :mod:`~bayesfit.output.study_plots`: pulls and coverage of toy studies;
- :mod:`~bayesfit.output.scans`: profile and contour scans within a time budget;
- :mod:`~bayesfit.output.figures`: saving figures (in a forked child while scans run);
- :mod:`~bayesfit.output.folder`: one complete set of files per output folder.

The renderers take results by their attributes and never import the engine.
"""
