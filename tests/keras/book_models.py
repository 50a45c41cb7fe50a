#!/usr/bin/env python3
"""Reference parameter counts for the models in dsl-examples/.

Builds, with the Keras functional API, every network of "Introduction to Deep
Computer Vision" (J. and M. Olafenwa, 2018 beta draft; shared/book), the small
CIFAR-10 networks built around the book's modules where the book gives only
the module (bottleneck, SE, DenseNet, ResNeXt, Inception), and the ImageNet
classics VGG16, VGG19, AlexNet and ResNet-18. For each model it prints the
name and the total, trainable and non-trainable parameter counts that
model.summary() reports. The `# keras:` line at the top of each
dsl-examples/*.net file is copied from this script's output
(tests/keras/book_models.out).

Only used to obtain reference figures, never run by CI:
    pip install tensorflow-cpu
    python3 tests/keras/book_models.py            > tests/keras/book_models.out
    python3 tests/keras/book_models.py --summary resnet_mini   # full summary

Every function mirrors its .net file layer for layer; comments mark the
places where the book's code is ambiguous or buggy and what was chosen.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402
from keras.layers import (  # noqa: E402
    Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense,
    DepthwiseConv2D, Dropout, Flatten, GlobalAveragePooling2D, Input,
    MaxPooling2D, ZeroPadding2D)
from keras.models import Model  # noqa: E402


# ---------------------------------------------------------------------------
# Chapter "Neural networks in action" / "Keras basics": the 784-128-128-128-10
# perceptron. The book's summary prints 134,794 params.

def mnist_mlp():
    images = Input((784,))
    net = Dense(units=128, activation="relu")(images)
    net = Dense(units=128, activation="relu")(net)
    net = Dense(units=128, activation="relu")(net)
    net = Dense(units=10, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name="mnist_mlp")


# ---------------------------------------------------------------------------
# Chapter "Introduction to convolutional neural networks", "A practical
# introduction": the MNIST CNN (28x28x1, over 99% in the book).

def mnist_cnn():
    images = Input((28, 28, 1))
    net = Conv2D(filters=64, kernel_size=[3, 3], strides=[1, 1], padding="same", activation="relu")(images)
    net = Conv2D(filters=64, kernel_size=[3, 3], strides=[1, 1], padding="same", activation="relu")(net)
    net = MaxPooling2D(pool_size=(2, 2))(net)
    net = Conv2D(filters=128, kernel_size=[3, 3], strides=[1, 1], padding="same", activation="relu")(net)
    net = Conv2D(filters=128, kernel_size=[3, 3], strides=[1, 1], padding="same", activation="relu")(net)
    net = Flatten()(net)
    net = Dense(units=10, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name="mnist_cnn")


# ---------------------------------------------------------------------------
# Chapter "Components of convolutional neural networks", "Dropout": the first
# CIFAR-10 network (about 79% in the book).

def cifar_cnn():
    images = Input((32, 32, 3))
    net = images
    for i, filters in enumerate([64, 128, 256]):
        if i > 0:
            net = MaxPooling2D(pool_size=(2, 2))(net)
        # the book writes 3 convolutions per stage, 4 in the last one
        for _ in range(4 if filters == 256 else 3):
            net = Conv2D(filters=filters, kernel_size=[3, 3], strides=[1, 1],
                         padding="same", activation="relu")(net)
    net = Dropout(0.25)(net)
    net = AveragePooling2D(pool_size=(8, 8))(net)
    net = Flatten()(net)
    net = Dense(units=10, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name="cifar_cnn")


# ---------------------------------------------------------------------------
# Chapter "Components of CNNs", "Batch Normalization": the pre-activation
# Unit version (85.77% in the book; 87.45% with the augmentation recipe).
# The book's long form puts an extra activation="relu" inside some of the
# convolutions; its Unit form (which it calls "exactly equivalent") does not.
# We follow the Unit form; parameter counts are the same either way.

def bn_unit(x, filters):
    out = BatchNormalization()(x)
    out = Activation("relu")(out)
    out = Conv2D(filters=filters, kernel_size=[3, 3], strides=[1, 1], padding="same")(out)
    return out


def cifar_bn_cnn():
    images = Input((32, 32, 3))
    net = images
    for i, filters in enumerate([64, 128, 256]):
        if i > 0:
            net = MaxPooling2D(pool_size=(2, 2))(net)
        for _ in range(3):
            net = bn_unit(net, filters)
    net = Dropout(0.25)(net)
    net = AveragePooling2D(pool_size=(8, 8))(net)
    net = Flatten()(net)
    net = Dense(units=10, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name="cifar_bn_cnn")


# ---------------------------------------------------------------------------
# Chapter "Architecture case studies", "Residual networks": ResnetModule with
# pool=False/True and the MiniModel of 12 modules.

def resnet_module(x, filters, pool=False):
    res = x
    if pool:
        x = MaxPooling2D(pool_size=(2, 2))(x)
        res = Conv2D(filters=filters, kernel_size=[1, 1], strides=(2, 2), padding="same")(res)
    out = BatchNormalization()(x)
    out = Activation("relu")(out)
    out = Conv2D(filters=filters, kernel_size=[3, 3], strides=[1, 1], padding="same")(out)
    out = BatchNormalization()(out)
    out = Activation("relu")(out)
    out = Conv2D(filters=filters, kernel_size=[3, 3], strides=[1, 1], padding="same")(out)
    return layers.add([res, out])


def resnet_like(name, unit, head_pool=4):
    """The book's residual MiniModel skeleton with a pluggable module:
    conv 32, 3 units at 32, then 3 stages (64, 128, 256) of a pooling unit and
    2 plain units, bn-relu-dropout, 4x4 average pool, dense softmax."""
    images = Input((32, 32, 3))
    net = Conv2D(filters=32, kernel_size=[3, 3], strides=[1, 1], padding="same")(images)
    for _ in range(3):
        net = unit(net, 32)
    for filters in [64, 128, 256]:
        net = unit(net, filters, pool=True)
        for _ in range(2):
            net = unit(net, filters)
    net = BatchNormalization()(net)
    net = Activation("relu")(net)
    net = Dropout(0.25)(net)
    net = AveragePooling2D(pool_size=(head_pool, head_pool))(net)
    net = Flatten()(net)
    net = Dense(units=10, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name=name)


def resnet_mini():
    return resnet_like("resnet_mini", resnet_module)


# ---------------------------------------------------------------------------
# Chapter "Efficiency techniques", "Depthwise separable convolutions": the
# depthwise Unit and its MiniModel. Note the book's mobile MiniModel has only
# 2 units at 32 filters (the residual one has 3); we follow the book.

def mobile_unit(x, filters, pool=False):
    res = x
    if pool:
        x = MaxPooling2D(pool_size=(2, 2))(x)
        res = Conv2D(filters=filters, kernel_size=[1, 1], strides=(2, 2), padding="same")(res)
    out = BatchNormalization()(x)
    out = Activation("relu")(out)
    out = DepthwiseConv2D(kernel_size=[3, 3], strides=[1, 1], padding="same")(out)
    out = BatchNormalization()(out)
    out = Activation("relu")(out)
    out = Conv2D(filters=filters, kernel_size=[1, 1], strides=[1, 1], padding="same")(out)
    return layers.add([res, out])


def mobilenet_mini():
    images = Input((32, 32, 3))
    net = Conv2D(filters=32, kernel_size=[3, 3], strides=[1, 1], padding="same")(images)
    net = mobile_unit(net, 32)
    net = mobile_unit(net, 32)
    for filters in [64, 128, 256]:
        net = mobile_unit(net, filters, pool=True)
        net = mobile_unit(net, filters)
        net = mobile_unit(net, filters)
    net = BatchNormalization()(net)
    net = Activation("relu")(net)
    net = Dropout(0.25)(net)
    net = AveragePooling2D(pool_size=(4, 4))(net)
    net = Flatten()(net)
    net = Dense(units=10, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name="mobilenet_mini")


# ---------------------------------------------------------------------------
# Chapter "Efficiency techniques", "Bottleneck layers". The book gives only
# the module, Unit(x, output_filters, input_filters, pool). Its code makes the
# second convolution 1x1, but the text and the MACs table that follow it
# describe a 1x1 reduction to half the input channels *followed by a 3x3
# convolution*; we take that evident intent (3x3, pad same). input_filters is
# always the channel count of x, so we read it from the tensor. Network: the
# book's residual MiniModel with this unit.

def bottleneck_unit(x, filters, pool=False):
    input_filters = x.shape[-1]
    res = x
    if pool:
        x = MaxPooling2D(pool_size=(2, 2))(x)
        res = Conv2D(filters=filters, kernel_size=[1, 1], strides=(2, 2), padding="same")(res)
    out = BatchNormalization()(x)
    out = Activation("relu")(out)
    out = Conv2D(filters=int(input_filters * 0.5), kernel_size=[1, 1], strides=[1, 1], padding="same")(out)
    out = BatchNormalization()(out)
    out = Activation("relu")(out)
    out = Conv2D(filters=filters, kernel_size=[3, 3], strides=[1, 1], padding="same")(out)
    return layers.add([res, out])


def bottleneck_mini():
    return resnet_like("bottleneck_mini", bottleneck_unit)


# ---------------------------------------------------------------------------
# Chapter "Architecture case studies", "SE Net": SEModule(x, filters,
# compress_ratio=16). The book says the module "can be placed after every
# residual block"; network: the residual MiniModel with an SE module after
# each ResnetModule (after the add).

def se_module(x, filters, compress_ratio=16):
    compression = int(filters / compress_ratio)
    se = GlobalAveragePooling2D()(x)
    se = Dense(compression)(se)
    se = Activation("relu")(se)
    se = Dense(filters)(se)
    se = Activation("sigmoid")(se)
    return layers.multiply([x, se])


def se_resnet_unit(x, filters, pool=False):
    return se_module(resnet_module(x, filters, pool=pool), filters)


def se_resnet_mini():
    return resnet_like("se_resnet_mini", se_resnet_unit)


# ---------------------------------------------------------------------------
# Chapter "Architecture case studies", "Evolutions of Resnet": DenseNet is
# only described ("filter concatenation instead of addition", growth rate k).
# Our small CIFAR DenseNet in the book's pre-activation style:
#   conv 32 (as resnet_mini) -> 3 dense blocks of 4 layers, growth rate 32,
#   each layer bn-relu-conv3x3(k) concatenated to its input; between blocks a
#   transition bn-relu-conv1x1(half the channels)-avgpool2 (DenseNet's
#   compression 0.5); head bn-relu-dropout-avgpool8-flatten-dense.
# Channels: 32 -> 160 -> 80 -> 208 -> 104 -> 232.

def dense_layer(x, growth):
    out = BatchNormalization()(x)
    out = Activation("relu")(out)
    out = Conv2D(filters=growth, kernel_size=[3, 3], strides=[1, 1], padding="same")(out)
    return layers.concatenate([x, out])


def transition(x):
    out = BatchNormalization()(x)
    out = Activation("relu")(out)
    out = Conv2D(filters=x.shape[-1] // 2, kernel_size=[1, 1])(out)
    return AveragePooling2D(pool_size=(2, 2))(out)


def densenet_mini(growth=32, layers_per_block=4):
    images = Input((32, 32, 3))
    net = Conv2D(filters=32, kernel_size=[3, 3], strides=[1, 1], padding="same")(images)
    for block in range(3):
        if block > 0:
            net = transition(net)
        for _ in range(layers_per_block):
            net = dense_layer(net, growth)
    net = BatchNormalization()(net)
    net = Activation("relu")(net)
    net = Dropout(0.25)(net)
    net = AveragePooling2D(pool_size=(8, 8))(net)
    net = Flatten()(net)
    net = Dense(units=10, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name="densenet_mini")


# ---------------------------------------------------------------------------
# Chapter "Evolutions of Resnet": ResNeXt, "32 separate convolutions, each
# with 4 filters, concatenated to form a layer with 128 filters", i.e. a
# grouped convolution with 32 groups. Our small CIFAR ResNeXt: the book's
# residual unit (maxpool + strided 1x1 shortcut when pooling) with a
# pre-activation bottleneck 1x1 -> 3x3 grouped (cardinality 32) -> 1x1, all
# of width `filters`. Stages 64, 128, 256 (32 groups need at least 32
# channels, and a width of 64 gives 2 channels per group), 3 units each.

def resnext_unit(x, filters, pool=False, cardinality=32):
    res = x
    if pool:
        x = MaxPooling2D(pool_size=(2, 2))(x)
        res = Conv2D(filters=filters, kernel_size=[1, 1], strides=(2, 2), padding="same")(res)
    out = BatchNormalization()(x)
    out = Activation("relu")(out)
    out = Conv2D(filters=filters, kernel_size=[1, 1])(out)
    out = BatchNormalization()(out)
    out = Activation("relu")(out)
    out = Conv2D(filters=filters, kernel_size=[3, 3], padding="same", groups=cardinality)(out)
    out = BatchNormalization()(out)
    out = Activation("relu")(out)
    out = Conv2D(filters=filters, kernel_size=[1, 1])(out)
    return layers.add([res, out])


def resnext_mini():
    images = Input((32, 32, 3))
    net = Conv2D(filters=64, kernel_size=[3, 3], strides=[1, 1], padding="same")(images)
    for _ in range(3):
        net = resnext_unit(net, 64)
    for filters in [128, 256]:
        net = resnext_unit(net, filters, pool=True)
        for _ in range(2):
            net = resnext_unit(net, filters)
    net = BatchNormalization()(net)
    net = Activation("relu")(net)
    net = Dropout(0.25)(net)
    net = AveragePooling2D(pool_size=(8, 8))(net)
    net = Flatten()(net)
    net = Dense(units=10, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name="resnext_mini")


# ---------------------------------------------------------------------------
# Chapter "Architecture case studies", "Inception": only a figure of the
# module (GoogLeNet v1: 1x1 | 1x1-3x3 | 1x1-5x5 | 3x3 maxpool-1x1, joined by
# filter concatenation). Our small CIFAR Inception network: a 3x3 stem of 64,
# GoogLeNet's modules 3a, 3b, (maxpool) 4a, 4b, (maxpool) 4c with the paper's
# filter counts, every convolution with ReLU as in GoogLeNet (no batch norm),
# then global average pooling, dropout 0.4 and the softmax classifier.

def inception_module(x, f1, f3r, f3, f5r, f5, fp):
    b1 = Conv2D(f1, 1, activation="relu")(x)
    b3 = Conv2D(f3r, 1, activation="relu")(x)
    b3 = Conv2D(f3, 3, padding="same", activation="relu")(b3)
    b5 = Conv2D(f5r, 1, activation="relu")(x)
    b5 = Conv2D(f5, 5, padding="same", activation="relu")(b5)
    bp = MaxPooling2D(pool_size=3, strides=1, padding="same")(x)
    bp = Conv2D(fp, 1, activation="relu")(bp)
    return layers.concatenate([b1, b3, b5, bp])


def inception_mini():
    images = Input((32, 32, 3))
    net = Conv2D(64, 3, padding="same", activation="relu")(images)
    net = inception_module(net, 64, 96, 128, 16, 32, 32)      # 3a: 256
    net = inception_module(net, 128, 128, 192, 32, 96, 64)    # 3b: 480
    net = MaxPooling2D(pool_size=(2, 2))(net)
    net = inception_module(net, 192, 96, 208, 16, 48, 64)     # 4a: 512
    net = inception_module(net, 160, 112, 224, 24, 64, 64)    # 4b: 512
    net = MaxPooling2D(pool_size=(2, 2))(net)
    net = inception_module(net, 128, 128, 256, 24, 64, 64)    # 4c: 512
    net = GlobalAveragePooling2D()(net)
    net = Dropout(0.4)(net)
    net = Dense(units=10, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name="inception_mini")


# ---------------------------------------------------------------------------
# Chapter "Convolution arithmetic": the two-layer example whose MACs the book
# computes (3x3 valid stride 1, 64 filters; then 4x4 padding 1 stride 2, 64
# filters, on 224x224x3). Not a trained model; kept so that netc's MACs
# (85,162,752 + 807,469,056 = 892,631,808) have a file to be checked on.

def conv_arith():
    images = Input((224, 224, 3))
    net = Conv2D(64, 3)(images)                      # 222x222x64
    net = ZeroPadding2D(1)(net)
    net = Conv2D(64, 4, strides=2)(net)              # 111x111x64
    return Model(inputs=images, outputs=net, name="conv_arith")


# ---------------------------------------------------------------------------
# ImageNet classics (224x224x3, 1000 classes).

def vgg16():
    return keras.applications.VGG16(include_top=True, weights=None)


def vgg19():
    return keras.applications.VGG19(include_top=True, weights=None)


def alexnet():
    """Single-tower AlexNet as in torchvision (after Krizhevsky's "one weird
    trick" paper, arXiv:1404.5997): conv 64 11x11/4 pad 2, maxpool 3/2,
    conv 192 5x5 pad 2, maxpool 3/2, conv 384, 256, 256 3x3 pad 1, maxpool
    3/2 (6x6x256 = 9216), dropout, fc 4096, dropout, fc 4096, fc 1000.
    PyTorch's symmetric padding is written as ZeroPadding2D + valid conv
    (Keras "same" would pad the 11x11/4 conv differently). torchvision's
    AdaptiveAvgPool2d((6, 6)) is the identity at 224x224 and is left out.
    61,100,840 params, as torchvision reports."""
    images = Input((224, 224, 3))
    net = ZeroPadding2D(2)(images)
    net = Conv2D(64, 11, strides=4, activation="relu")(net)         # 55x55
    net = MaxPooling2D(pool_size=3, strides=2)(net)                 # 27x27
    net = ZeroPadding2D(2)(net)
    net = Conv2D(192, 5, activation="relu")(net)                    # 27x27
    net = MaxPooling2D(pool_size=3, strides=2)(net)                 # 13x13
    for filters in [384, 256, 256]:
        net = ZeroPadding2D(1)(net)
        net = Conv2D(filters, 3, activation="relu")(net)            # 13x13
    net = MaxPooling2D(pool_size=3, strides=2)(net)                 # 6x6
    net = Flatten()(net)
    net = Dropout(0.5)(net)
    net = Dense(4096, activation="relu")(net)
    net = Dropout(0.5)(net)
    net = Dense(4096, activation="relu")(net)
    net = Dense(1000, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name="alexnet")


def basic_block(x, filters, stride=1):
    """He et al. 2015 basic block (post-activation), projection shortcut
    (1x1 conv + BN) when the shape changes."""
    res = x
    if stride != 1 or x.shape[-1] != filters:
        res = Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        res = BatchNormalization()(res)
    out = ZeroPadding2D(1)(x)
    out = Conv2D(filters, 3, strides=stride, use_bias=False)(out)
    out = BatchNormalization()(out)
    out = Activation("relu")(out)
    out = ZeroPadding2D(1)(out)
    out = Conv2D(filters, 3, use_bias=False)(out)
    out = BatchNormalization()(out)
    out = layers.add([res, out])
    return Activation("relu")(out)


def resnet18():
    """ResNet-18 (He et al. 2015, table 1) for ImageNet: conv 7x7/2 64,
    maxpool 3x3/2, stages of 2 basic blocks at 64, 128, 256, 512 (stride 2
    at the first block of the last three), global average pool, fc 1000.
    Convolutions have no bias and are followed by BatchNormalization;
    padding is PyTorch's symmetric padding (ZeroPadding2D + valid), as in
    torchvision's resnet18 (11,689,512 params there: PyTorch does not count
    BN running statistics, Keras counts them as 9,600 non-trainable)."""
    images = Input((224, 224, 3))
    net = ZeroPadding2D(3)(images)
    net = Conv2D(64, 7, strides=2, use_bias=False)(net)              # 112x112
    net = BatchNormalization()(net)
    net = Activation("relu")(net)
    net = ZeroPadding2D(1)(net)
    net = MaxPooling2D(pool_size=3, strides=2)(net)                  # 56x56
    for i, filters in enumerate([64, 128, 256, 512]):
        net = basic_block(net, filters, stride=1 if i == 0 else 2)
        net = basic_block(net, filters)
    net = GlobalAveragePooling2D()(net)
    net = Dense(1000, activation="softmax")(net)
    return Model(inputs=images, outputs=net, name="resnet18")


MODELS = [
    mnist_mlp, mnist_cnn, cifar_cnn, cifar_bn_cnn, resnet_mini,
    mobilenet_mini, bottleneck_mini, se_resnet_mini, densenet_mini,
    resnext_mini, inception_mini, conv_arith, vgg16, vgg19, alexnet, resnet18,
]


def count(weights):
    return int(sum(np.prod(w.shape) for w in weights))


def main(argv):
    summary = "--summary" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    import tensorflow as tf
    print(f"# TensorFlow {tf.__version__}, Keras {keras.__version__}")
    print(f"# {'model':<16} {'params':>12} {'trainable':>12} {'non-trainable':>14}")
    for build in MODELS:
        name = build.__name__
        if wanted and name not in wanted:
            continue
        keras.backend.clear_session()
        model = build()
        if summary:
            model.summary()
        total = model.count_params()
        trainable = count(model.trainable_weights)
        non_trainable = count(model.non_trainable_weights)
        assert total == trainable + non_trainable
        print(f"{name:<18} {total:>12,} {trainable:>12,} {non_trainable:>14,}")
        # The line to paste into the .net file.
        print(f"  # keras: params {total:,} (trainable {trainable:,}, "
              f"non-trainable {non_trainable:,})")


if __name__ == "__main__":
    main(sys.argv[1:])
