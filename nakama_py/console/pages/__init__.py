"""One module per console page: read the form, call core services, render a template."""
