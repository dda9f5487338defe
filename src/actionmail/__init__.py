"""actionmail: one YAML file per day's action in, a responsive, accessible email out."""

__version__ = "0.1.0.dev0"
