"""Every figure landsim draws, with matplotlib's Agg canvas (pyplot's global state
is never touched, and matplotlib is imported only when a figure is drawn).

================  =============================================================
module            figures
================  =============================================================
``batch``         a batch summary's trajectories per group (``landsim summarize``)
``comparison``    a comparison's trajectories and effects (``landsim compare``)
``sensitivity``   a sensitivity analysis's indices, Morris plane and convergence
================  =============================================================

How numbers, labels and many series are shown is :mod:`landsim.display`.
"""


def new_figure(**kwargs):
    """A matplotlib ``Figure`` on an Agg canvas (``kwargs`` go to ``Figure``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig
