"""The Streamlit pieces pages share: the shell, the training panel, runs, charts, words, code.

    ui.shell     the device the sidebar chose, deep links, time and thread labels
    ui.training  run_training: Stop, progress with ETA, live view, the run kept
    ui.runs      Run and RunStore: one bounded, session-scoped store of runs
    ui.charts    the loss/accuracy chart
    ui.content   t(key, **values): the words, from content/<language>/<page>.md
    ui.code      show_code: a core/recipes script for the current settings, .py and .ipynb
"""
