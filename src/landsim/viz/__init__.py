"""The browser view for students (``landsim viz``); see :mod:`landsim.app`.

=============  ================================================================
module         what it holds
=============  ================================================================
``scenarios``  the scenarios a student can pick, the seed field
``controls``   the sliders, by scenario key
``teaching``   the model the page runs (:class:`TeachingModel`)
``maps``       the map (PNG) and its clicks
``plots``      the line plots (ECharts)
``cards``      the run card, the farm card, the CSV download, the About panel
``page``       the page
``server``     serving the page on localhost
=============  ================================================================
"""
