"""The classroom hub: one asyncio process per smart classroom, STEM lab or studio."""

__version__ = "0.1.0"
