"""The clients optscale-tui connects: each says where its files are, how the connection's values map onto its keys,
and which probes verify it. Reading, planning, diffing and saving JSON files is shared (`core.config`: strict load with
line/column, byte-preserving edits, masked diff, atomic save with backups)."""
