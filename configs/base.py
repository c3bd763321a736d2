"""The defaults every seqlab config starts from: the LSTM on copy, T=100.

seqlab train --config configs/base.py --workdir runs/base
"""

from seqlab.config import base_config


def get_config():
    return base_config()
