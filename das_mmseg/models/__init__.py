# Each model family registers on import; one line per subpackage.
