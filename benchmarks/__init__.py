"""`make bench`: figures measured in one run on this machine, printed as a report."""
