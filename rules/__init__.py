"""rules (see DESIGN.md §2); built by its own issue."""
