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


# The package's docstrings held 344 examples when this floor was set: losing many of them (a
# module no longer found, a docstring rewritten without its example) fails here.
MIN_EXAMPLES = 300


def examples_in(name: str) -> int:
    module = importlib.import_module(name)
    return sum(len(t.examples) for t in doctest.DocTestFinder().find(module))


def test_at_least_the_minimum_number_of_examples():
    total = sum(examples_in(name) for name in MODULES)
    assert total >= MIN_EXAMPLES, f"only {total} docstring examples (at least {MIN_EXAMPLES})"


def test_every_engine_verb_module_has_an_example():
    engine = [n for n in MODULES if n.startswith("localprofile.engine.")]
    assert len(engine) >= 15
    assert [n for n in engine if examples_in(n) == 0] == []


def test_every_module_is_found():
    assert "localprofile.layers.police_uk_street" in MODULES
    assert "localprofile.engine.gistar" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
    assert result.attempted == examples_in(name)  # every example found was run
