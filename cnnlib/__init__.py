"""cnnlib: the small NumPy library behind the course on convolutional networks.

Arrays are NCHW (batch, channels, height, width); names and semantics follow
``torch.nn.functional``. Every ``*_forward`` returns ``(out, cache)`` and the matching
``*_backward(grad_out, cache)`` returns the gradients, as in CS231n.

Modules: ``shapes`` (output sizes, receptive fields), ``conv`` and ``pool`` (the
functional core), ``nn`` (layers with backward passes), ``losses``, ``optim``, ``train``
(fit/evaluate, saving), ``gradcheck``, ``data`` (digits, synthetic images, a photo; no
downloads), ``saliency``, ``convert`` (dense layers to convolutions), ``plot`` and
``testing`` (helpers for the notebooks).
"""
from .shapes import conv_output_size, conv_transpose_output_size, receptive_field
from .conv import (
    correlate2d,
    convolve2d,
    conv1d,
    conv2d,
    conv2d_forward,
    conv2d_backward,
    conv_transpose2d,
    conv_transpose2d_forward,
    conv_transpose2d_backward,
    conv2d_matrix,
)
from .pool import (
    max_pool2d,
    max_pool2d_forward,
    max_pool2d_backward,
    avg_pool2d,
    avg_pool2d_forward,
    avg_pool2d_backward,
    lp_pool2d,
    lp_pool2d_forward,
    lp_pool2d_backward,
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_forward,
    adaptive_avg_pool2d_backward,
    adaptive_max_pool2d,
    adaptive_max_pool2d_forward,
    adaptive_max_pool2d_backward,
    global_avg_pool2d,
    global_max_pool2d,
)
from . import data, nn, optim
from .nn import (
    Module,
    Conv2d,
    ConvTranspose2d,
    MaxPool2d,
    AvgPool2d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    GlobalAvgPool2d,
    ReLU,
    Flatten,
    Linear,
    Sequential,
    Residual,
    manual_seed,
    summary,
)
from .losses import softmax, log_softmax, cross_entropy
from .optim import SGD, Adam
from .train import fit, evaluate, predict, predict_scores, save_params, load_params
from .gradcheck import numerical_gradient, rel_error, check_layer_gradients, check_model_gradients
from .saliency import saliency_map, occlusion_sensitivity, saliency_in_box, pointing_game
from .convert import fc_to_conv, to_fully_convolutional

__version__ = "0.1.0"
