"""What the notebooks call: typed notebook parameters, run records, and each notebook's steps.

The notebooks in ``notebooks/`` stay thin: every cell calls a function here (or in
``gaorg.plots`` / ``gaorg.widgets``), so a test reaches the same code without a kernel.
"""
