"""The pure otklik pipeline: records, normalization, components, artifacts.

No web framework and no environment variables here: callers pass paths and options.
"""
# natasha patches inspect.getargspec, which pymorphy2 0.9.1 needs on Python 3.11; import it first.
import natasha  # noqa: F401  (import for its side effect)
