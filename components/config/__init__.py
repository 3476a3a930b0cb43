"""Config layer: reads the stack config (`stack.py`, the only use of `pulumi.Config`) and parses and
validates it into the model (`whole.py`, `parse.py` and the parsers beside it) before any resource exists."""

from components.config.stack import load_last_deployment, load_stack_config, read_stack_values

__all__ = ["load_last_deployment", "load_stack_config", "read_stack_values"]
