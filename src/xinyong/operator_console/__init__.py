"""The operator console: what the people who run the platform watch."""
