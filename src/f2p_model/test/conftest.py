"""f2p_model tests: two CPU threads, as on the target machine."""

import torch

torch.set_num_threads(2)
