"""The TUI's views, one per tab: each shows one kind of evidence and links to the others."""
