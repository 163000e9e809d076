"""From fully connected to fully convolutional (Long et al., 2015; Sermanet et al., 2014).

A ``Linear`` layer that reads the flattened ``C x H x W`` map of a conv stack computes,
for each output unit k, ``sum_{c,i,j} W[k, (c, i, j)] * x[c, i, j]``: exactly a
convolution with one ``C x H x W`` kernel per unit, evaluated at the single position
where it fits. As a convolution it also runs on larger maps, sliding over them.
"""
from __future__ import annotations

import copy

import numpy as np

from ._checks import as_tuple
from .nn import Conv2d, Flatten, Linear, ReLU, Sequential


def fc_to_conv(linear, in_shape):
    """The ``Conv2d`` with kernel ``H x W`` equal to ``linear`` applied after ``Flatten``.

    ``in_shape``: ``(C, H, W)`` of the map that was flattened (``C*H*W`` must equal
    ``linear.in_features``). Weight row k, reshaped to ``(C, H, W)``, becomes kernel k:
    the new weight is ``linear.weight.reshape(out_features, C, H, W)``. On a ``C x H x W``
    input the conv gives ``(N, out_features, 1, 1)`` holding ``linear``'s output.
    """
    if not isinstance(linear, Linear):
        raise ValueError(f"fc_to_conv needs a Linear layer, got {linear!r}")
    c, h, w = as_tuple(in_shape, 3, "in_shape", minimum=1)
    if c * h * w != linear.in_features:
        raise ValueError(
            f"{linear!r} has in_features={linear.in_features}, but a map of shape "
            f"(C, H, W) = ({c}, {h}, {w}) flattens to C*H*W = {c * h * w}"
        )
    weight = linear.weight
    conv = Conv2d(c, linear.out_features, (h, w), bias=linear.bias is not None,
                  rng=np.random.default_rng(0), dtype=weight.dtype)
    conv.weight = weight.reshape(linear.out_features, c, h, w)
    if linear.bias is not None:
        conv.bias = linear.bias
    return conv


def to_fully_convolutional(model, input_shape):
    """A fully convolutional copy of a ``Sequential`` classifier.

    ``model`` is a conv/pool stack, then ``Flatten``, then ``Linear`` layers (with
    ``ReLU`` between them). ``input_shape``: ``(C, H, W)`` of the images it was trained
    on. In the copy, ``Flatten`` is gone, the first ``Linear`` becomes an ``H' x W'``
    convolution (``H' x W'`` = the map size at the ``Flatten``) and each later ``Linear``
    a 1x1 convolution. The layers are copies: the original model is not changed.

    On a training-size input the result gives ``(N, K, 1, 1)``, the original's scores.
    On a larger input it gives ``(N, K, H_s, W_s)``: the scores of every crop of the
    training size at a stride equal to the product of the strides of the stack (e.g. 4
    after two 2x2 poolings). The match with running the original on each crop is exact
    only when the convolutions have no padding: with padding, a crop's border sees
    zeros where the large image has real neighbours.
    """
    if not isinstance(model, Sequential):
        raise ValueError(f"to_fully_convolutional needs a Sequential model, got {type(model).__name__}")
    shape = tuple(input_shape)[-3:]
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {input_shape!r}")
    flatten_at = [i for i, layer in enumerate(model) if isinstance(layer, Flatten)]
    if len(flatten_at) != 1:
        raise ValueError(f"the model must contain exactly one Flatten layer, found {len(flatten_at)}")
    split = flatten_at[0]
    features = [copy.deepcopy(layer) for layer in model.layers[:split]]
    head = model.layers[split + 1:]
    x = np.zeros((1, *shape), dtype=np.float32)
    for layer in features:
        x = layer(x)
    map_shape = x.shape[1:]
    converted = []
    for layer in head:
        if isinstance(layer, Linear):
            converted.append(fc_to_conv(layer, map_shape))
            map_shape = (layer.out_features, 1, 1)
        elif isinstance(layer, ReLU):
            converted.append(ReLU())
        else:
            raise ValueError(
                f"after Flatten only Linear and ReLU layers can be converted, found {layer!r}")
    return Sequential(*features, *converted)
