"""The mail store: ``api`` (what every protocol uses) and ``maildir`` (its implementation)."""
