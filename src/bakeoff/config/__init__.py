"""Typed configs, each option declared once (help, type, range), validated before any work starts."""

from bakeoff.config.options import OptionError, Spec, check_shared, coerce_option, option, specs
from bakeoff.config.train import (
    PRECISIONS,
    TrainConfig,
    check_run_name,
    config_digest,
    identity,
    model_label,
    run_name,
    variant_of,
)

__all__ = ["PRECISIONS", "OptionError", "Spec", "TrainConfig", "check_run_name", "check_shared", "coerce_option",
           "config_digest", "identity", "model_label", "option", "run_name", "specs", "variant_of"]
