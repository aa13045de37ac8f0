"""Clients other than Claude Code's own settings.json: each says where its files are, how the connection's values
map onto its keys, and which probes verify it. The JSON reading, planning and saving is shared
(`core.settings_file`: strict load with line/column, byte-preserving edits, atomic save with backups)."""
