"""What every process shares (web, worker, sweeps): the Upload model and its state machine,
the part plan, purposes, the intake of a new file, progress records and fixed-window rate counters
in the cache, errors, signals, and the dispatch that hands uploads to the worker by task name."""
