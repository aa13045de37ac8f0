"""Claude Code as a client: where its files are, how edited values map onto its settings keys, which models it knows."""
