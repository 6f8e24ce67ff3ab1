"""The tutorial's model, exactly: Flatten(28x28) -> Dense(128, relu) -> Dense(10, softmax)."""

import keras

PARAMETERS = 101_770  # 784*128 + 128 + 128*10 + 10


def build_model(jit_compile: bool | str = "auto", steps_per_execution: int = 1) -> keras.Model:
    """Build and compile the tutorial's classifier (Adam, sparse categorical cross-entropy)."""
    model = keras.Sequential(
        [
            keras.Input((28, 28), name="image"),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="fmnist_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model
