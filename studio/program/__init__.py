"""The program feed: the layouts and the compositor that turns the inputs into the recorded picture."""

from studio.program.layouts import Inputs, Layout, compose
from studio.program.program import Program

__all__ = ["Inputs", "Layout", "Program", "compose"]
