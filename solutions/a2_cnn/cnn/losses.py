"""Part 2, PyTorch: class-balanced weights and the focal loss.

References: Cui et al., "Class-Balanced Loss Based on Effective Number of
Samples" (CVPR 2019); Lin et al., "Focal Loss for Dense Object Detection" (ICCV 2017).
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(class_counts, beta=0.9999):
    """Class-balanced weights from the effective number of samples of each class.

        effective_c = (1 - beta ** n_c) / (1 - beta)
        w_c         = 1 / effective_c = (1 - beta) / (1 - beta ** n_c)
        weights     = w * K / sum(w)           (normalised: the K weights sum to K)

    beta = 0 gives equal weights (all 1); beta -> 1 approaches weights proportional
    to 1 / n_c.

    Args:
        class_counts: K training-example counts per class (list, NumPy array or tensor).
        beta:         in [0, 1).

    Returns:
        (K,) float32 tensor of weights, summing to K.
    """
    # BEGIN SOLUTION
    counts = np.asarray(class_counts, dtype=np.float64)               # (K,)
    per_class = (1.0 - beta) / (1.0 - np.power(beta, counts))         # (K,)
    per_class = per_class / per_class.sum() * len(counts)
    return torch.tensor(per_class, dtype=torch.float32)
    # END SOLUTION


class FocalLoss(nn.Module):
    """Softmax focal loss, optionally class-weighted.

    For example n with label t = y[n] and p_n = softmax(scores[n])[t]:

        FL_n = -(1 - p_n) ** gamma * log(p_n)

    Reduction (the weighted mean, as in F.cross_entropy):

        loss = sum_n w[y[n]] * FL_n / sum_n w[y[n]]      (w = weight, all ones if None)

    With gamma = 0 this is exactly ``F.cross_entropy(scores, y, weight=weight)``.
    Compute log(p) with log_softmax (never log(softmax(...)): it underflows).

    Args:
        weight: (K,) tensor of class weights (e.g. from reweight), or None.
        gamma:  focusing parameter >= 0.
    """

    def __init__(self, weight=None, gamma=0.0):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        """
        Args:
            input:  (N, K) class scores (logits).
            target: (N,) int64 labels.

        Returns:
            the loss, a 0-d tensor.
        """
        # BEGIN SOLUTION
        log_p = F.log_softmax(input, dim=1)                               # (N, K)
        focal = (1.0 - log_p.exp()) ** self.gamma * log_p                 # (N, K)
        weight = None if self.weight is None else self.weight.to(input.dtype)
        return F.nll_loss(focal, target, weight=weight)
        # END SOLUTION
