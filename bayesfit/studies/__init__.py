"""Studies of many fits: toys, coverage, calibration and the signal test.

- :mod:`~bayesfit.studies.toys`: pulls, coverage and failures on simulated datasets;
- :mod:`~bayesfit.studies.coverage`: verdicts on which intervals can be trusted;
- :mod:`~bayesfit.studies.sbc`: simulation-based calibration of the Bayesian fit;
- :mod:`~bayesfit.studies.discovery`: the likelihood-ratio test and the Bayes factor;
- :mod:`~bayesfit.studies.parallel`: the Dask runner, chunks and progress they share;
- :mod:`~bayesfit.studies.checkpoint`: the resumable record of a toy study.
"""
