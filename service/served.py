"""The app `otklik serve` hands to uvicorn, in a process without pandas.

scikit-learn imports pandas whenever it is installed (0.4 s of a 3 s start, in every worker) and
nothing the service runs uses it; training and batch jobs, in their own processes, still have it.
Importing this module is what does it, so only `otklik serve` imports it.
"""
import sys

sys.modules.setdefault("pandas", None)  # `import pandas` now raises ImportError, as if not installed

from .app import create_app as create_served_app  # noqa: E402

__all__ = ["create_served_app"]
