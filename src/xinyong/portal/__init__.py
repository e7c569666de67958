"""The public portal: search, a subject's public file, published defaulters, statistics and
the rules, as pages and as ``/v1/public`` and ``/v1/stats``, for anyone."""
