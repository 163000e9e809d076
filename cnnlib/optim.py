"""Optimisers with PyTorch's update rules, acting in place on a model's parameters.

``opt = SGD(model.parameters(), lr=0.1)`` (or ``SGD(model, lr=0.1)``); after
``model.backward(...)`` has filled the gradients, ``opt.step()`` updates every
parameter array in place and ``opt.zero_grad()`` clears the gradients.
"""
from __future__ import annotations

import numpy as np


def _as_pairs(params):
    """A Module, or an iterable of ``(param, grad)`` pairs -> list of pairs."""
    if hasattr(params, "parameters"):
        params = params.parameters()
    pairs = list(params)
    for i, pair in enumerate(pairs):
        try:
            p, g = pair
        except (TypeError, ValueError):
            raise ValueError(
                f"params must be a Module or (param, grad) pairs as given by model.parameters(); "
                f"entry {i} is {type(pair).__name__}"
            ) from None
        if not (isinstance(p, np.ndarray) and isinstance(g, np.ndarray)) or p.shape != g.shape:
            raise ValueError(f"params entry {i}: param and grad must be arrays of the same shape")
    return pairs


class Optimizer:
    """Base class: holds ``(param, grad)`` pairs and the hyper-parameters."""

    def __init__(self, params, lr):
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}")
        self.params = _as_pairs(params)
        self.lr = lr
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        for _, g in self.params:
            g.fill(0)

    def step(self):
        for (p, g), state in zip(self.params, self.state):
            self._update(p, g, state)

    def _update(self, p, g, state):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay.

    As ``torch.optim.SGD`` (dampening 0)::

        g = grad + weight_decay * p
        v = g (first step), else v = momentum * v + g
        p -= lr * v          (p -= lr * g without momentum)
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"momentum and weight_decay must be >= 0, got {momentum}, {weight_decay}")
        self.momentum, self.weight_decay = momentum, weight_decay

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "velocity" in state:
                v = state["velocity"]
                v *= self.momentum
                v += g
            else:
                v = state["velocity"] = np.array(g, dtype=p.dtype)
            g = v
        p -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction, as ``torch.optim.Adam``::

        g = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        p -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        beta1, beta2 = betas
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas!r}")
        self.betas, self.eps, self.weight_decay = (beta1, beta2), eps, weight_decay

    def _update(self, p, g, state):
        beta1, beta2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p
        if not state:
            state.update(t=0, m=np.zeros_like(p), v=np.zeros_like(p))
        state["t"] += 1
        m, v, t = state["m"], state["v"], state["t"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        denom = np.sqrt(v / (1 - beta2**t)) + self.eps
        p -= (self.lr / (1 - beta1**t)) * m / denom
