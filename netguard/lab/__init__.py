"""The built-in lab: a simulated county for trying and testing NetGuard (see DESIGN.md §2)."""
