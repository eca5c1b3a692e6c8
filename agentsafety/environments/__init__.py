"""Environments: ToolEmu's cases and toolkits, and the sandbox world that simulates tools in Python and judges with code."""
