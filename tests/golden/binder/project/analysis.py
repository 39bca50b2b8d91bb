"""A Binder-style analysis script."""

import six

print(six.moves.reduce(lambda a, b: a + b, [1, 2, 3]))
