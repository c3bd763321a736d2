import pytest

from seqlab.registry import MODELS, TASKS, Registry, UnknownNameError


def test_duplicate_names_are_an_error():
    reg = Registry("thing")
    reg.register("a", "first")(lambda: 1)
    with pytest.raises(ValueError, match="thing 'a' is registered twice"):
        reg.register("a", "second")(lambda: 2)


def test_unknown_name_lists_the_known_ones():
    reg = Registry("thing")
    for name in ("b", "a"):
        reg.register(name, name)(lambda: None)
    with pytest.raises(UnknownNameError) as e:
        reg.get("c")
    assert str(e.value) == "unknown thing 'c'; valid choices: a, b"


def test_packages_register_their_members():
    assert "lstm" in MODELS
    assert {"copy", "adding", "adding_1997"} <= set(TASKS.names())
    assert all(desc for _, desc in MODELS.describe() + TASKS.describe())
