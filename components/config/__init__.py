"""Config layer: reads the stack config (`stack.py`, the only use of `pulumi.Config`) and parses and
validates it into the model (`parse.py` and the parsers beside it) before any resource exists."""

from components.config.stack import load_aws_settings, load_last_deployment, load_mesh_spec

__all__ = ["load_aws_settings", "load_last_deployment", "load_mesh_spec"]
