"""Search: the public index of subjects, built from what may be shown and published."""
