"""Layers with a forward and a backward pass, in the style of ``torch.nn``.

Every layer is a :class:`Module`: ``out = layer(x)`` runs ``forward`` and keeps what the
backward pass needs; ``grad_in = layer.backward(grad_out)`` returns the gradient of the
loss with respect to the layer's input and *adds* the parameter gradients to
``layer.grads`` (as PyTorch accumulates into ``.grad``; call ``zero_grad()`` between
steps). Parameters live in ``layer.params`` (a dict name -> array, PyTorch names
``weight`` and ``bias``; containers use dotted names such as ``"0.weight"``).

Arrays are NCHW: images ``(N, C, H, W)``, conv weights ``(C_out, C_in, kh, kw)``, linear
weights ``(out_features, in_features)``. Weights are drawn from a seeded generator (see
:func:`manual_seed`), so a script that builds the same model gets the same numbers.
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import as_float_array, as_pair, as_tuple, resolve_padding
from .conv import (
    conv2d_backward,
    conv2d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)
from .pool import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    adaptive_max_pool2d_backward,
    adaptive_max_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

DEFAULT_SEED = 0
_default_rng = np.random.default_rng(DEFAULT_SEED)


def manual_seed(seed=DEFAULT_SEED):
    """Reset the generator that layers draw their initial weights from when ``rng`` is None.

    Like ``torch.manual_seed``: call it at the top of a notebook and every model built
    afterwards gets the same weights on every run. One shared generator (rather than a
    fresh ``default_rng(0)`` per layer) keeps two layers of the same shape from being
    initialised identically.
    """
    global _default_rng
    _default_rng = np.random.default_rng(seed)


def _as_int(value, name):
    return as_tuple(value, 1, name, minimum=1)[0]


def _as_rng(rng):
    """``None`` -> the shared seeded generator, an int -> a new generator seeded with it."""
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def init_weight(shape, fan_in, fan_out, init="he", rng=None, dtype=np.float32):
    """A weight array of ``shape`` with zero-mean normal entries.

    ``init="he"`` (Kaiming normal, He et al. 2015): std = sqrt(2 / fan_in), which keeps
    the activation variance constant through ReLU layers.
    ``init="glorot"`` (Xavier normal, Glorot & Bengio 2010): std = sqrt(2 / (fan_in + fan_out)).
    For a convolution ``fan_in = C_in * kh * kw`` and ``fan_out = C_out * kh * kw``.
    """
    if init == "he":
        std = math.sqrt(2.0 / fan_in)
    elif init == "glorot":
        std = math.sqrt(2.0 / (fan_in + fan_out))
    else:
        raise ValueError(f"init must be 'he' or 'glorot', got {init!r}")
    return (_as_rng(rng).standard_normal(shape) * std).astype(dtype)


def _param_property(name):
    """``layer.weight`` reads ``layer.params[name]``; assigning copies in place (shape checked)."""

    def get(self):
        return self.params.get(name)

    def set(self, value):
        if name not in self.params:
            raise ValueError(f"{self!r} has no parameter {name!r}")
        self.set_param(name, value)

    return property(get, set, doc=f"The ``{name}`` parameter (``params[{name!r}]``).")


class Module:
    """Base class: ``forward``, ``backward``, parameters and their gradients.

    A layer registers its parameters with ``self.add_param(name, array)``; ``forward``
    ends with ``return self._save(out, cache)`` and ``backward`` starts with
    ``grad_out, cache = self._require_cache(grad_out)``, which raises when forward has
    not run and checks the gradient's shape. For example::

        class Scale(Module):
            def __init__(self):
                super().__init__()
                self.add_param("weight", np.ones(1))

            def forward(self, x):
                return self._save(x * self.params["weight"], x)

            def backward(self, grad_out):
                grad_out, x = self._require_cache(grad_out)
                self._accumulate("weight", np.array([np.sum(grad_out * x)]))
                return grad_out * self.params["weight"]

    Containers override ``named_children``.
    """

    def __init__(self):
        self._params = {}
        self._grads = {}
        self._cache = None
        self.training = True

    # -- the two passes ---------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def _require_cache(self, grad_out):
        """The cache of the last forward pass; checks ``grad_out`` against its output shape."""
        if self._cache is None:
            raise RuntimeError(f"{self!r}: backward() called before forward()")
        grad_out = as_float_array(grad_out, "grad_out")
        if grad_out.shape != self._out_shape:
            raise ValueError(
                f"{self!r}: grad_out must have the shape of the last output {self._out_shape}, "
                f"got {grad_out.shape}"
            )
        return grad_out, self._cache

    def _save(self, out, cache):
        self._cache, self._out_shape = cache, out.shape
        return out

    # -- parameters -------------------------------------------------------------------
    def add_param(self, name, value):
        self._params[name] = value
        self._grads[name] = np.zeros_like(value)

    def set_param(self, name, value):
        """Copy ``value`` into parameter ``name`` in place (an optimiser keeps working)."""
        target = self.params[name]
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"{self!r}: {name} must have shape {target.shape}, got {value.shape}")
        target[...] = value

    def _accumulate(self, name, grad):
        self._grads[name] += grad

    def named_children(self):
        """``(name, module)`` pairs of the direct sub-modules (none for a plain layer)."""
        return ()

    def named_parameters(self, prefix=""):
        """``[(name, param, grad), ...]`` over this module and its sub-modules.

        Unlike a PyTorch tensor, a NumPy array cannot carry its gradient, so each
        parameter comes with its gradient buffer.
        """
        out = [(prefix + n, p, self._grads[n]) for n, p in self._params.items()]
        for child_name, child in self.named_children():
            out += child.named_parameters(f"{prefix}{child_name}.")
        return out

    def parameters(self):
        """``[(param, grad), ...]``: what an optimiser updates (``SGD(model.parameters(), lr)``)."""
        return [(p, g) for _, p, g in self.named_parameters()]

    @property
    def params(self):
        """Dict name -> parameter array (the arrays themselves, not copies). In a container
        the names are dotted paths ("0.weight") and assigning one sets that layer's parameter."""
        if not self.named_children():
            return self._params
        return _Params(self)

    @property
    def grads(self):
        """Dict name -> gradient array, with the keys of ``params``."""
        if not self.named_children():
            return self._grads
        return {n: g for n, _, g in self.named_parameters()}

    def num_parameters(self):
        """Total number of scalar parameters."""
        return sum(p.size for _, p, _ in self.named_parameters())

    def zero_grad(self):
        for _, _, g in self.named_parameters():
            g.fill(0)

    # -- modes and dtype --------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (here and in sub-modules); returns self."""
        self.training = bool(mode)
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, dtype):
        """Cast parameters and gradients to ``dtype`` (e.g. ``np.float64`` for gradient checks).

        The arrays are replaced: build the optimiser after calling this.
        """
        self._params = {n: p.astype(dtype) for n, p in self._params.items()}
        self._grads = {n: g.astype(dtype) for n, g in self._grads.items()}
        self._cache = None
        for _, child in self.named_children():
            child.to(dtype)
        return self

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


def _check_input(layer, x, axes, expected):
    """Validate ``x`` against ``expected`` sizes (None = any) of ``axes``; name the layer."""
    x = as_float_array(x, "input")
    if x.ndim != len(expected) or any(e is not None and e != s for e, s in zip(expected, x.shape)):
        want = ", ".join(a if e is None else str(e) for a, e in zip(axes, expected))
        raise ValueError(f"{layer!r} expects input of shape ({want}), got shape {x.shape}")
    return x


def _call(layer, fn, *args, **kwargs):
    """Run a functional-core call; prefix its ValueError with the layer's name."""
    try:
        return fn(*args, **kwargs)
    except ValueError as e:
        raise ValueError(f"{layer!r}: {e}") from None


class _Params(dict):
    """A container's parameters by dotted name ("0.weight"): the arrays themselves, and an
    assignment copies into the layer's own array in place, shape checked (a plain dict
    built on each call would silently drop it). No parameter is added or removed here."""

    def __init__(self, module):
        super().__init__((n, p) for n, p, _ in module.named_parameters())
        self._module = module

    def __setitem__(self, name, value):
        if name not in self:
            raise KeyError(f"{self._module.__class__.__name__} has no parameter {name!r}: {list(self)}")
        module, (*path, leaf) = self._module, name.split(".")
        for part in path:
            module = dict(module.named_children())[part]
        module.set_param(leaf, value)

    def update(self, *args, **kwargs):
        for name, value in dict(*args, **kwargs).items():
            self[name] = value

    def _fixed(self, *args, **kwargs):
        raise TypeError("a container's parameters cannot be added or removed through params")

    __delitem__ = pop = popitem = clear = setdefault = _fixed

    def __reduce__(self):  # a copy or a pickle is a plain dict of the arrays
        return dict, (dict(self),)


class _Conv(Module):
    """Shared code of ``Conv2d`` and ``ConvTranspose2d``: parameters, forward, backward."""

    weight = _param_property("weight")
    bias = _param_property("bias")
    _forward = _backward = None   # the functional core's pair, set by the subclass

    def _setup(self, in_channels, out_channels, kernel_size, stride, dilation, bias,
               weight_shape, init, rng, dtype):
        self.in_channels = _as_int(in_channels, "in_channels")
        self.out_channels = _as_int(out_channels, "out_channels")
        self.kernel_size = as_pair(kernel_size, "kernel_size", 1)
        self.stride = as_pair(stride, "stride", 1)
        self.dilation = as_pair(dilation, "dilation", 1)
        kh, kw = self.kernel_size
        # fan_in counts the input channels times the taps (for the transposed layer too,
        # as in PyTorch, although each of its outputs sums fewer inputs when stride > 1).
        self.add_param("weight", init_weight(
            weight_shape(self.in_channels, self.out_channels, kh, kw),
            fan_in=self.in_channels * kh * kw, fan_out=self.out_channels * kh * kw,
            init=init, rng=rng, dtype=dtype))
        if bias:
            self.add_param("bias", np.zeros(self.out_channels, dtype=dtype))

    def _options(self):
        """Keyword arguments of the functional call (stride, padding, ...)."""
        raise NotImplementedError

    def forward(self, x):
        x = _check_input(self, x, "NCHW", (None, self.in_channels, None, None))
        out, cache = _call(self, type(self)._forward, x, self.weight, self.bias, **self._options())
        return self._save(out, cache)

    def backward(self, grad_out):
        grad_out, cache = self._require_cache(grad_out)
        dx, dw, db = type(self)._backward(grad_out, cache)
        self._accumulate("weight", dw)
        if db is not None:
            self._accumulate("bias", db)
        return dx

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        defaults = {"padding": ((0, 0), "valid"), "output_padding": ((0, 0),), "dilation": ((1, 1),)}
        for name, value in self._options().items():
            if name != "stride" and value not in defaults[name]:
                s += f", {name}={value!r}"
        if "bias" not in self._params:
            s += ", bias=False"
        return s


class Conv2d(_Conv):
    """2-D convolution (cross-correlation) layer.

    Input ``(N, C_in, H, W)`` -> output ``(N, C_out, H_out, W_out)`` with
    ``H_out = floor((H + 2*padding - dilation*(kh - 1) - 1) / stride) + 1`` (W likewise).
    ``weight``: ``(C_out, C_in, kh, kw)``; ``bias``: ``(C_out,)``, initialised to zero.
    ``padding``: an int, an (h, w) pair, or ``"valid"``, ``"same"``, ``"full"``.
    The arguments after ``dilation`` are keyword-only (PyTorch's 7th is ``groups``).
    """

    _forward, _backward = staticmethod(conv2d_forward), staticmethod(conv2d_backward)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 *, bias=True, init="he", rng=None, dtype=np.float32):
        super().__init__()
        self._setup(in_channels, out_channels, kernel_size, stride, dilation, bias,
                    lambda c_in, c_out, kh, kw: (c_out, c_in, kh, kw), init, rng, dtype)
        self.padding = padding if isinstance(padding, str) else as_pair(padding, "padding", 0)
        resolve_padding(self.padding, self.kernel_size, self.stride, self.dilation)  # validates

    def _options(self):
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation}


class ConvTranspose2d(_Conv):
    """2-D transposed convolution: the gradient of ``Conv2d`` with respect to its input.

    Input ``(N, C_in, H, W)`` -> output ``(N, C_out, H_out, W_out)`` with
    ``H_out = (H - 1)*stride - 2*padding + dilation*(kh - 1) + output_padding + 1``,
    where stride, padding and dilation are those of the direct convolution.
    ``weight``: ``(C_in, C_out, kh, kw)`` (as in PyTorch); ``bias``: ``(C_out,)``.
    The arguments after ``output_padding`` are keyword-only (PyTorch's 7th is ``groups``).
    """

    _forward = staticmethod(conv_transpose2d_forward)
    _backward = staticmethod(conv_transpose2d_backward)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, *, dilation=1, bias=True, init="he", rng=None, dtype=np.float32):
        super().__init__()
        self._setup(in_channels, out_channels, kernel_size, stride, dilation, bias,
                    lambda c_in, c_out, kh, kw: (c_in, c_out, kh, kw), init, rng, dtype)
        self.padding = as_pair(padding, "padding", 0)
        self.output_padding = as_pair(output_padding, "output_padding", 0)

    def _options(self):
        return {"stride": self.stride, "padding": self.padding,
                "output_padding": self.output_padding, "dilation": self.dilation}


class _Pool2d(Module):
    """Shared code of the pooling layers: ``(N, C, H, W) -> (N, C, H_out, W_out)``."""

    _forward = _backward = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = as_pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else as_pair(stride, "stride", 1)
        self.padding = as_pair(padding, "padding", 0)

    def forward(self, x):
        x = _check_input(self, x, "NCHW", (None, None, None, None))
        out, cache = _call(self, self._forward, x, self.kernel_size, stride=self.stride,
                           padding=self.padding)
        return self._save(out, cache)

    def backward(self, grad_out):
        grad_out, cache = self._require_cache(grad_out)
        return self._backward(grad_out, cache)

    def extra_repr(self):
        s = f"kernel_size={self.kernel_size}, stride={self.stride}"
        return s + (f", padding={self.padding}" if self.padding != (0, 0) else "")


class MaxPool2d(_Pool2d):
    """Max pooling: each output is the maximum of a ``kernel_size`` window.

    ``H_out = floor((H + 2*padding - kh) / stride) + 1``; ``stride`` defaults to the
    kernel size (non-overlapping windows). No parameters.
    """

    _forward = staticmethod(max_pool2d_forward)
    _backward = staticmethod(max_pool2d_backward)


class AvgPool2d(_Pool2d):
    """Average pooling over ``kernel_size`` windows; output size as for :class:`MaxPool2d`.

    The padding is zeros; ``count_include_pad`` (default True, as in PyTorch) counts
    them in each mean, otherwise a window is divided by its number of real pixels.
    """

    _backward = staticmethod(avg_pool2d_backward)

    def __init__(self, kernel_size, stride=None, padding=0, *, count_include_pad=True):
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = bool(count_include_pad)

    def _forward(self, x, kernel_size, stride, padding):
        return avg_pool2d_forward(x, kernel_size, stride, padding, count_include_pad=self.count_include_pad)

    def extra_repr(self):
        return super().extra_repr() + ("" if self.count_include_pad else ", count_include_pad=False")


class _AdaptivePool2d(Module):
    """``(N, C, H, W) -> (N, C, *output_size)`` for any H, W >= output_size."""

    _forward = _backward = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = as_pair(output_size, "output_size", 1)

    def forward(self, x):
        x = _check_input(self, x, "NCHW", (None, None, None, None))
        out, cache = _call(self, self._forward, x, self.output_size)
        return self._save(out, cache)

    def backward(self, grad_out):
        grad_out, cache = self._require_cache(grad_out)
        return self._backward(grad_out, cache)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePool2d):
    """Average pooling whose windows adapt to the input so the output is ``output_size``."""

    _forward = staticmethod(adaptive_avg_pool2d_forward)
    _backward = staticmethod(adaptive_avg_pool2d_backward)


class AdaptiveMaxPool2d(_AdaptivePool2d):
    """Max pooling whose windows adapt to the input so the output is ``output_size``."""

    _forward = staticmethod(adaptive_max_pool2d_forward)
    _backward = staticmethod(adaptive_max_pool2d_backward)


class GlobalAvgPool2d(Module):
    """Mean over all positions of each channel: ``(N, C, H, W) -> (N, C)``.

    Replaces Flatten + Linear's dependence on the input size: the network then accepts
    images of any size.
    """

    def forward(self, x):
        x = _check_input(self, x, "NCHW", (None, None, None, None))
        return self._save(x.mean(axis=(2, 3)), x.shape)

    def backward(self, grad_out):
        grad_out, in_shape = self._require_cache(grad_out)
        h, w = in_shape[2:]
        scale = np.asarray(1.0 / (h * w), dtype=grad_out.dtype)
        return np.broadcast_to((grad_out * scale)[:, :, None, None], in_shape).copy()


class ReLU(Module):
    """``max(x, 0)`` element-wise, for input of any shape."""

    def forward(self, x):
        x = as_float_array(x, "input")
        return self._save(np.maximum(x, 0), x > 0)

    def backward(self, grad_out):
        grad_out, mask = self._require_cache(grad_out)
        return grad_out * mask


class Flatten(Module):
    """``(N, d1, d2, ...) -> (N, d1*d2*...)``, in C order (channel, then row, then column)."""

    def forward(self, x):
        x = as_float_array(x, "input")
        if x.ndim < 2:
            raise ValueError(f"{self!r} expects input of shape (N, ...), got shape {x.shape}")
        return self._save(x.reshape(x.shape[0], -1), x.shape)

    def backward(self, grad_out):
        grad_out, in_shape = self._require_cache(grad_out)
        return grad_out.reshape(in_shape)


class Linear(Module):
    """Fully connected layer: ``out = x @ weight.T + bias``.

    Input ``(N, in_features)`` -> output ``(N, out_features)``;
    ``weight``: ``(out_features, in_features)``; ``bias``: ``(out_features,)``, zero at first.
    """

    weight = _param_property("weight")
    bias = _param_property("bias")

    def __init__(self, in_features, out_features, bias=True, init="he", rng=None,
                 dtype=np.float32):
        super().__init__()
        self.in_features = _as_int(in_features, "in_features")
        self.out_features = _as_int(out_features, "out_features")
        self.add_param("weight", init_weight(
            (self.out_features, self.in_features), fan_in=self.in_features,
            fan_out=self.out_features, init=init, rng=rng, dtype=dtype))
        if bias:
            self.add_param("bias", np.zeros(self.out_features, dtype=dtype))

    def forward(self, x):
        x = as_float_array(x, "input")
        if x.ndim != 2 or x.shape[1] != self.in_features:
            hint = " (a Flatten() layer is missing before it?)" if x.ndim > 2 else ""
            raise ValueError(
                f"{self!r} expects input of shape (N, {self.in_features}), got shape {x.shape}{hint}"
            )
        out = x @ self.weight.T
        if self.bias is not None:
            out += self.bias
        return self._save(out, x)

    def backward(self, grad_out):
        grad_out, x = self._require_cache(grad_out)
        self._accumulate("weight", grad_out.T @ x)
        if self.bias is not None:
            self._accumulate("bias", grad_out.sum(axis=0))
        return grad_out @ self.weight

    def extra_repr(self):
        s = f"in_features={self.in_features}, out_features={self.out_features}"
        return s + (", bias=False" if self.bias is None else "")


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse.

    Indexable (``model[0]``, ``model[-1]``, ``model[1:3]`` is a Sequential) and iterable.
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise ValueError(f"Sequential: argument {i} is not a Module, got {layer!r}")
        self.layers = list(layers)

    def named_children(self):
        return tuple((str(i), layer) for i, layer in enumerate(self.layers))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            try:
                x = layer(x)
            except ValueError as e:
                raise ValueError(f"Sequential layer {i}: {e}") from None
        return x

    def backward(self, grad_out):
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        lines = [f"  ({i}): {layer!r}".replace("\n", "\n  ") for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"


class Residual(Module):
    """Residual block (He et al. 2016): ``out = x + body(x)``.

    ``body`` must keep the shape of its input (e.g. 3x3 convolutions with padding 1).
    The gradient flows through both branches: ``grad_in = grad_out + body.backward(grad_out)``.
    """

    def __init__(self, body):
        super().__init__()
        if not isinstance(body, Module):
            raise ValueError(f"Residual: body must be a Module, got {body!r}")
        self.body = body

    def named_children(self):
        return (("body", self.body),)

    def forward(self, x):
        x = as_float_array(x, "input")
        fx = self.body(x)
        if fx.shape != x.shape:
            raise ValueError(
                f"Residual: the body maps input of shape {x.shape} to {fx.shape}; "
                "x + body(x) needs the same shape"
            )
        return self._save(x + fx, True)

    def backward(self, grad_out):
        grad_out, _ = self._require_cache(grad_out)
        return grad_out + self.body.backward(grad_out)

    def __repr__(self):
        return "Residual(\n  (body): " + repr(self.body).replace("\n", "\n  ") + "\n)"


def summary(model, input_shape):
    """A table of each layer's output shape and parameter count for input ``(N, C, H, W)``.

    Runs a forward pass on zeros, so it also finds shape mismatches before training.
    """
    x = np.zeros(input_shape, dtype=np.float32)
    layers = model.layers if isinstance(model, Sequential) else [model]
    rows = [("layer", "output shape", "parameters"), ("input", str(tuple(input_shape)), "")]
    for i, layer in enumerate(layers):
        x = layer(x)
        rows.append((f"{i}: {type(layer).__name__}", str(x.shape), f"{layer.num_parameters():,}"))
    rows.append(("total", "", f"{model.num_parameters():,}"))
    widths = [max(len(r[k]) for r in rows) for k in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows)
