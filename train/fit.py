"""Train the tutorial's recipe fast: the same epochs, batch size, optimizer, loss and per-epoch
shuffling as plain `model.fit`, but each epoch is one XLA-compiled loop over all its batches
(1,875 steps of 32 images) instead of a Python round trip and a data-pipeline fetch per batch,
which is where plain `fit` spends most of its time on this tiny model.
"""

import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from runtime.dataset import scaled
from train.model import build_model
from train.recipe import Recipe


@dataclass(frozen=True)
class Trained:
    model: keras.Model
    accuracy: float  # on the 10,000 test images
    seconds: float  # of fitting alone


def compiled_epoch(model: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int, masks=()):
    """epoch(order) -> (mean loss, accuracy): one pass over the images in `order`, in batches,
    updating the model with its own optimizer and loss, as a single XLA computation; each
    (variable, mask) of `masks` is multiplied by its mask after every update (pruned weights stay 0)."""
    x, y = tf.constant(scaled(images)), tf.constant(labels.astype(np.int32))
    loss_fn, optimizer, weights = keras.losses.get(model.loss), model.optimizer, model.trainable_variables
    optimizer.build(weights)
    count = len(images)
    full_batches, rest = divmod(count, batch_size)

    def step(indices):
        xb, yb = tf.gather(x, indices), tf.gather(y, indices)
        with tf.GradientTape() as tape:
            probabilities = model(xb, training=True)
            loss = tf.reduce_mean(loss_fn(yb, probabilities))  # as compile(loss=...) reduces it
        optimizer.apply(tape.gradient(loss, weights), weights)
        for variable, mask in masks:
            variable.assign(variable * mask)
        hits = tf.equal(tf.argmax(probabilities, 1, output_type=tf.int32), yb)
        size = tf.cast(tf.shape(indices)[0], tf.float32)
        return loss * size, tf.reduce_sum(tf.cast(hits, tf.float32))

    @tf.function(jit_compile=True)
    def epoch(order):
        def body(i, loss_sum, hit_sum):
            loss, hits = step(tf.slice(order, [i * batch_size], [batch_size]))
            return i + 1, loss_sum + loss, hit_sum + hits

        _, loss_sum, hit_sum = tf.while_loop(
            lambda i, *_: i < full_batches, body, (tf.constant(0), tf.constant(0.0), tf.constant(0.0))
        )
        if rest:  # the last, smaller batch, as model.fit does
            loss, hits = step(order[full_batches * batch_size :])
            loss_sum, hit_sum = loss_sum + loss, hit_sum + hits
        return loss_sum / count, hit_sum / count

    return epoch


def fit_fast(
    model: keras.Model, images: np.ndarray, labels: np.ndarray, recipe: Recipe, log, masks=(), epochs=None
) -> None:
    epoch = compiled_epoch(model, images, labels, recipe.batch_size, masks)
    order = np.random.default_rng(recipe.seed)
    epochs = epochs or recipe.epochs
    for number in range(1, epochs + 1):
        started = time.perf_counter()
        loss, accuracy = epoch(tf.constant(order.permutation(len(images)).astype(np.int32)))
        log(
            f"{'fine-tune ' if masks else ''}epoch {number}/{epochs}  loss {float(loss):.4f}  "
            f"accuracy {float(accuracy):.4f}  {time.perf_counter() - started:.1f} s"
        )


def magnitude_masks(model: keras.Model, sparsity: float) -> list:
    """(kernel, mask) for each Dense layer, the mask 0 on its `sparsity` smallest weights by magnitude,
    which it also sets to zero: what pruning keeps through fine-tuning."""
    masks = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            kernel = layer.kernel.numpy()
            order = np.argsort(np.abs(kernel), axis=None)
            mask = np.ones(kernel.size, np.float32)
            mask[order[: round(sparsity * kernel.size)]] = 0
            mask = mask.reshape(kernel.shape)
            layer.kernel.assign(kernel * mask)
            masks.append((layer.kernel, tf.constant(mask)))
    return masks


def train(recipe: Recipe, train_set, test_set, progress: bool = True) -> Trained:
    """Fit the recipe on (images, labels) and measure it on the test set; same seed, same weights."""
    keras.utils.set_random_seed(recipe.seed)
    model = build_model()
    log = (lambda line: print(line, flush=True)) if progress else (lambda line: None)
    started = time.perf_counter()
    if recipe.fast:
        fit_fast(model, *train_set, recipe, log)
    else:
        model.fit(
            scaled(train_set[0]),
            train_set[1],
            epochs=recipe.epochs,
            batch_size=recipe.batch_size,
            verbose=2 if progress else 0,
        )
    if recipe.prune:
        masks = magnitude_masks(model, recipe.prune)
        fit_fast(model, *train_set, recipe, log, masks, recipe.fine_tune_epochs)
    seconds = time.perf_counter() - started
    _, accuracy = model.evaluate(scaled(test_set[0]), test_set[1], batch_size=1000, verbose=0)
    return Trained(model, float(accuracy), seconds)
