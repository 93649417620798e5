"""Task kinds, statuses, result records and DCS error codes: no I/O of any kind."""
