"""Application services: one posting pass and one recovery pass, wired from settings.

This layer sits above posting, recovery and learning (it is the only place that joins them) and below
``defs/`` and ``cli/``, which only call it: the scheduled job and the command run the same code.
"""
