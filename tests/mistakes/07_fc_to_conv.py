"""Plausible wrong answers for notebook 07; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points.
"""

MISTAKES = {
    "reshape_hwc_order": {
        "cell": "linear_to_conv_weight",
        "source": '''def linear_to_conv_weight(weight, in_shape):
    c, h, w = in_shape
    weight = np.asarray(weight)
    return weight.reshape(weight.shape[0], h, w, c).transpose(0, 3, 1, 2)''',
        "fails": ["test_linear_to_conv_weight"],
    },
    "library_call_fc_to_conv": {
        "cell": "linear_to_conv_weight",
        "source": '''def linear_to_conv_weight(weight, in_shape):
    lin = Linear(int(np.prod(in_shape)), np.shape(weight)[0], rng=0)
    lin.weight = np.asarray(weight, dtype=np.float32)
    return cnnlib.fc_to_conv(lin, in_shape).weight''',
        "fails": ["test_linear_to_conv_weight"],
    },
    # convert_to_conv: a new Conv2d has zero biases; forgetting to copy them is the classic slip.
    "convert_forgets_bias": {
        "cell": "convert_to_conv",
        "source": '''def convert_to_conv(model, input_shape):
    layers = list(model)
    split = [i for i, layer in enumerate(layers) if isinstance(layer, Flatten)][0]
    x = np.zeros((1, *input_shape), dtype=np.float32)
    for layer in layers[:split]:
        x = layer(x)
    shape = x.shape[1:]
    out = layers[:split]
    for layer in layers[split + 1:]:
        if isinstance(layer, Linear):
            conv = Conv2d(shape[0], layer.out_features, shape[1:])
            conv.weight = linear_to_conv_weight(layer.weight, shape)
            out.append(conv)
            shape = (layer.out_features, 1, 1)
        else:
            out.append(layer)
    return Sequential(*out)''',
        "fails": ["test_convert_to_conv"],
    },
    "convert_reshapes_hwc_inline": {
        "cell": "convert_to_conv",
        "source": '''def convert_to_conv(model, input_shape):
    layers = list(model)
    split = [i for i, layer in enumerate(layers) if isinstance(layer, Flatten)][0]
    c, h, w = Sequential(*layers[:split])(np.zeros((1, *input_shape), dtype=np.float32)).shape[1:]
    out = layers[:split]
    for layer in layers[split + 1:]:
        if isinstance(layer, Linear):
            conv = Conv2d(c, layer.out_features, (h, w))
            conv.weight = layer.weight.reshape(layer.out_features, h, w, c).transpose(0, 3, 1, 2)
            conv.bias = layer.bias
            out.append(conv)
            c, h, w = layer.out_features, 1, 1
        else:
            out.append(layer)
    return Sequential(*out)''',
        "fails": ["test_convert_to_conv"],
    },
    # Every dense layer made a kernel of the first map's size: the shape is never updated.
    "convert_keeps_first_kernel_size": {
        "cell": "convert_to_conv",
        "source": '''def convert_to_conv(model, input_shape):
    layers = list(model)
    split = [i for i, layer in enumerate(layers) if isinstance(layer, Flatten)][0]
    shape = Sequential(*layers[:split])(np.zeros((1, *input_shape), dtype=np.float32)).shape[1:]
    out = layers[:split]
    for layer in layers[split + 1:]:
        if isinstance(layer, Linear):
            conv = Conv2d(layer.in_features // (shape[1] * shape[2]), layer.out_features, shape[1:])
            conv.weight = layer.weight.reshape(layer.out_features, -1, *shape[1:])
            conv.bias = layer.bias
            out.append(conv)
        else:
            out.append(layer)
    return Sequential(*out)''',
        "fails": ["test_convert_to_conv"],
    },
    "smallest_input_first_layer_first": {
        "cell": "smallest_input",
        "source": '''def smallest_input(map_side, layers):
    n = map_side
    for kernel, stride, padding in layers:
        n = (n - 1) * stride + kernel - 2 * padding
    return int(n)''',
        "fails": ["test_smallest_input"],
    },
    "smallest_input_m_times_s": {
        "cell": "smallest_input",
        "source": '''def smallest_input(map_side, layers):
    n = map_side
    for kernel, stride, padding in reversed(layers):
        n = n * stride + kernel - 2 * padding
    return int(n)''',
        "fails": ["test_smallest_input"],
    },
    "smallest_input_padding_sign": {
        "cell": "smallest_input",
        "source": '''def smallest_input(map_side, layers):
    n = map_side
    for kernel, stride, padding in reversed(layers):
        n = (n - 1) * stride + kernel + 2 * padding
    return int(n)''',
        "fails": ["test_smallest_input"],
    },
    "last_crop_missing": {
        "cell": "crops",
        "source": '''def crops(x, size, stride):
    x = np.asarray(x)
    _, h, w = x.shape
    n_rows, n_cols = (h - size) // stride, (w - size) // stride
    return np.array([[x[:, i * stride:i * stride + size, j * stride:j * stride + size]
                      for j in range(n_cols)] for i in range(n_rows)])''',
        "fails": ["test_crops"],
    },
    # crop_mismatch: the stride read off the sizes, (H - size) / (n_rows - 1), is wrong when the
    # image is not a whole number of strides larger than the crop (11×11 with stride 2: 3).
    "mismatch_stride_from_sizes": {
        "cell": "crop_mismatch",
        "source": '''def crop_mismatch(model, fc_model, image, size):
    score_map = fc_model(image[None])[0]
    n_rows, n_cols = score_map.shape[1:]
    stride = (image.shape[1] - size) // (n_rows - 1) if n_rows > 1 else 1
    grid = crops(image, size, stride)[:n_rows, :n_cols]
    crop_scores = model(grid.reshape(-1, *grid.shape[2:])).reshape(n_rows, n_cols, -1)
    return np.abs(crop_scores - score_map.transpose(1, 2, 0)).max(axis=2)''',
        "fails": ["test_crop_mismatch"],
    },
    "mismatch_strides_added": {
        "cell": "crop_mismatch",
        "source": '''def crop_mismatch(model, fc_model, image, size):
    score_map = fc_model(image[None])[0]
    n_rows, n_cols = score_map.shape[1:]
    stride = 1
    for layer in model:
        if hasattr(layer, "stride"):
            stride += layer.stride[0] - 1
    grid = crops(image, size, stride)[:n_rows, :n_cols]
    crop_scores = model(grid.reshape(-1, *grid.shape[2:])).reshape(n_rows, n_cols, -1)
    return np.abs(crop_scores - score_map.transpose(1, 2, 0)).max(axis=2)''',
        "fails": ["test_crop_mismatch"],
    },
    "mismatch_stride_two": {
        "cell": "crop_mismatch",
        "source": '''def crop_mismatch(model, fc_model, image, size):
    score_map = fc_model(image[None])[0]
    n_rows, n_cols = score_map.shape[1:]
    grid = crops(image, size, 2)[:n_rows, :n_cols]
    crop_scores = model(grid.reshape(-1, *grid.shape[2:])).reshape(n_rows, n_cols, -1)
    return np.abs(crop_scores - score_map.transpose(1, 2, 0)).max(axis=2)''',
        "fails": ["test_crop_mismatch"],
    },
    "mismatch_mean_over_classes": {
        "cell": "crop_mismatch",
        "source": '''def crop_mismatch(model, fc_model, image, size):
    score_map = fc_model(image[None])[0]
    n_rows, n_cols = score_map.shape[1:]
    stride = int(np.prod([layer.stride[0] for layer in model if hasattr(layer, "stride")]))
    grid = crops(image, size, stride)[:n_rows, :n_cols]
    crop_scores = model(grid.reshape(-1, *grid.shape[2:])).reshape(n_rows, n_cols, -1)
    return np.abs(crop_scores - score_map.transpose(1, 2, 0)).mean(axis=2)''',
        "fails": ["test_crop_mismatch"],
    },
    "conv_cost_without_positions": {
        "cell": "multiply_adds",
        "source": '''def multiply_adds(model, input_shape):
    total = 0
    for layer in model:
        if isinstance(layer, (Conv2d, Linear)):
            total += layer.weight.size
    return int(total)''',
        "fails": ["test_multiply_adds"],
    },
    "mirror_rows": {
        "cell": "ten_crop",
        "source": '''def ten_crop(x, size):
    x = np.asarray(x)
    _, h, w = x.shape
    top, left = (h - size) // 2, (w - size) // 2
    five = [x[:, :size, :size], x[:, :size, w - size:], x[:, h - size:, :size], x[:, h - size:, w - size:],
            x[:, top:top + size, left:left + size]]
    return np.array(five + [c[:, ::-1, :] for c in five])''',
        "fails": ["test_ten_crop"],
    },
}

# Library twins that compute the whole answer: each must lose the exercise's points.
SHORTCUTS = {
    "weights_by_fc_to_conv": {
        "cell": "linear_to_conv_weight",
        "source": '''def linear_to_conv_weight(weight, in_shape):
    layer = Linear(int(np.prod(in_shape)), weight.shape[0])
    layer.weight = np.asarray(weight, dtype=np.float32)
    return cnnlib.convert.fc_to_conv(layer, in_shape).weight''',
        "fails": ["test_linear_to_conv_weight"],
    },
    "convert_by_library": {
        "cell": "convert_to_conv",
        "source": '''def convert_to_conv(model, input_shape):
    return cnnlib.to_fully_convolutional(model, input_shape)''',
        "fails": ["test_convert_to_conv"],
    },
    "convert_layer_by_layer_with_fc_to_conv": {
        "cell": "convert_to_conv",
        "source": '''from cnnlib.convert import fc_to_conv as _layer_to_conv

def convert_to_conv(model, input_shape):
    layers = list(model)
    split = [i for i, layer in enumerate(layers) if isinstance(layer, Flatten)][0]
    shape = Sequential(*layers[:split])(np.zeros((1, *input_shape), dtype=np.float32)).shape[1:]
    out = layers[:split]
    for layer in layers[split + 1:]:
        if isinstance(layer, Linear):
            out.append(_layer_to_conv(layer, shape))
            shape = (layer.out_features, 1, 1)
        else:
            out.append(layer)
    return Sequential(*out)''',
        "fails": ["test_convert_to_conv"],
    },
    "smallest_input_by_search_with_library": {
        "cell": "smallest_input",
        "source": '''def smallest_input(map_side, layers):
    n = 1
    while True:
        try:
            m = n
            for kernel, stride, padding in layers:
                m = cnnlib.conv_output_size(m, kernel, stride=stride, padding=padding)
            if m >= map_side:
                return n
        except ValueError:
            pass
        n += 1''',
        "fails": ["test_smallest_input"],
    },
}

# Right answers written differently from the solution: each must earn full marks.
CORRECT = {
    "weights_row_by_row": {
        "cell": "linear_to_conv_weight",
        "source": '''def linear_to_conv_weight(weight, in_shape):
    return np.stack([np.reshape(row, in_shape) for row in np.asarray(weight)])''',
    },
    "convert_with_copies_and_inline_reshape": {
        "cell": "convert_to_conv",
        "source": '''import copy

def convert_to_conv(model, input_shape):
    x = np.zeros((1, *input_shape), dtype=np.float32)
    new, seen_flatten = [], False
    for layer in model:
        if isinstance(layer, Flatten):
            seen_flatten = True
            continue
        if not seen_flatten:
            new.append(copy.deepcopy(layer))
            x = layer(x)
        elif isinstance(layer, Linear):
            _, c, h, w = x.shape
            conv = Conv2d(c, layer.out_features, (h, w))
            conv.weight = np.reshape(layer.weight, (layer.out_features, c, h, w))
            conv.bias = layer.bias
            new.append(conv)
            x = np.zeros((1, layer.out_features, 1, 1), dtype=np.float32)
        else:
            new.append(layer)
    return Sequential(*new)''',
    },
    "smallest_input_by_search": {
        "cell": "smallest_input",
        "source": '''def smallest_input(map_side, layers):
    n = 1
    while True:
        m, fits = n, True
        for kernel, stride, padding in layers:
            if m + 2 * padding < kernel:
                fits = False
                break
            m = (m + 2 * padding - kernel) // stride + 1
        if fits and m >= map_side:
            return n
        n += 1''',
    },
    "mismatch_with_loops": {
        "cell": "crop_mismatch",
        "source": '''def crop_mismatch(model, fc_model, image, size):
    scores = fc_model(np.asarray(image)[None])[0]
    stride = int(np.prod([layer.stride[0] for layer in model if isinstance(layer, (Conv2d, MaxPool2d))]))
    out = np.zeros(scores.shape[1:])
    for i in range(scores.shape[1]):
        for j in range(scores.shape[2]):
            crop = image[:, i * stride:i * stride + size, j * stride:j * stride + size]
            out[i, j] = np.max(np.abs(model(crop[None])[0] - scores[:, i, j]))
    return out''',
    },
}
