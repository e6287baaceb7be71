"""STEM labs: the Vinaponics aquaponics kit, experiments and robotics kits."""
