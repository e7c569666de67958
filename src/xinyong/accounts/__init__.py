"""People who sign in: subjects (persons and organisations' representatives) and staff."""
