# Hooks register on import; one line per module.
