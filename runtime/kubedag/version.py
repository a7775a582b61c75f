"""The kubedag version, in a module of its own so any layer can name it.

`kubedag/__init__.py` re-exports it as `dg.__version__`; the CLI and the code server import it
from here, since reaching the package face from below would tie them to every layer.
"""

__version__ = "0.1.0"
