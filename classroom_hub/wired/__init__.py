"""Devices the hub drives itself over RS-232 or TCP (the 86" display): their drivers run here.

The package declares itself in ``declaration.py``; ``part.py`` runs the drivers.
"""
