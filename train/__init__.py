"""Train the tutorial's Fashion-MNIST classifier, fast and reproducibly."""

import os

# TensorFlow's C++ INFO and WARNING lines drown the progress lines; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
