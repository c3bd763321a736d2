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


def test_bracketed_names_reach_families_that_take_an_argument():
    reg = Registry("thing")
    reg.register("fam", "a family", takes_arg=True)(lambda: "f")
    reg.register("plain", "no argument")(lambda: "p")
    assert reg.entry("fam[7:1]").name == "fam" and reg.entry("fam").name == "fam"
    assert "fam[1:1]" in reg and "plain[2]" not in reg
    with pytest.raises(UnknownNameError, match=r"unknown thing 'plain\[2\]'; valid choices: fam"):
        reg.entry("plain[2]")
    assert dict(reg.describe())["fam[a:b]"] == "a family"


def test_size_variants_are_described():
    reg = Registry("thing")
    reg.register("m", "a model", sizes={"tiny": {}, "big": {}})(lambda: None)
    assert reg.describe() == [("m", "a model (sizes: tiny, big)")]
