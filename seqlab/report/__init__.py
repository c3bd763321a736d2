"""The results dashboard: a self-contained HTML report and a live local server.

    seqlab report runs/x -o report.html     # one file, opens without a network
    seqlab dashboard runs/x --port 8050     # the same page, live, on 127.0.0.1

    from seqlab.report import collect, figures      # the figures, e.g. in a notebook
    figures.loss_vs_length(collect("runs/zoo_copy"), "copy").show()

plotly and pandas are imported by the functions that use them.
"""

from seqlab.report.data import NoRuns, Report, collect

__all__ = ["NoRuns", "Report", "collect"]
