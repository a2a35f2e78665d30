"""The robot behind the ExecuteSkill action: the simulated world and the Hello Robot Stretch RE2."""
