"""Client-neutral JSON settings files: strict load with line/column, byte-preserving edits, masked diff, atomic save with backups."""
