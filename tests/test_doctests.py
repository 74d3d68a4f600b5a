"""Every docstring example in the package runs on the shipped data and gives what it shows."""

import doctest
import importlib
import pkgutil

import pytest

import localprofile
import localprofile.layers
import localprofile.templates

# `layers/` and `templates/` are mapped into the package, so walk each package's own path.
MODULES = sorted(
    {
        m.name
        for pkg in (localprofile, localprofile.layers, localprofile.templates)
        for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
        if not m.name.endswith("__main__")
    }
    | {"localprofile.layers", "localprofile.templates"}
)


def test_every_module_is_found():
    assert "localprofile.layers.police_uk_street" in MODULES
    assert "localprofile.engine.gistar" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
