"""The rules of every feature, free of HTTP: the API handlers and the runtime's ``nk`` both call these."""
