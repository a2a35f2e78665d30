"""A random-weight toy skill effect model for the monitor's tests (fixed seed: the same weights every time)."""

from __future__ import annotations

import torch

from f2p_model.config import tiny_model_config
from f2p_model.model import SkillEffectModel


def tiny_model() -> SkillEffectModel:
    torch.manual_seed(0)
    return SkillEffectModel(tiny_model_config()).eval()
