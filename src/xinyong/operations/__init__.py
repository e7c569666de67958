"""What the people who run the service need: health, metrics, request ids and logs, backups."""
