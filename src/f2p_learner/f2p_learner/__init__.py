"""Fail2Progress learner: SVGD over states and actions, targeted dataset generation in simulation,
fine-tune, validate and publish; the paper's baselines.
"""
