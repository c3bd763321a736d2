"""`seqlab bench`: the suite's names, bad input, and one real (quick) benchmark end to end."""

from __future__ import annotations

import json

from seqlab.bench import BENCHMARKS, benchmarks_dir
from seqlab.cli import main


def test_every_benchmark_names_a_script_that_exists(capsys):
    folder = benchmarks_dir()
    for b in BENCHMARKS.values():
        assert (folder / b.script).is_file(), b.script
    assert main(["bench", "--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(BENCHMARKS)


def test_an_unknown_benchmark_is_refused_with_the_choices(capsys):
    assert main(["bench", "lstm", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'nope'; valid choices: lstm, gru, seeds" in err


def test_quick_long_sequence_benchmark_writes_its_results(tmp_path, capfd):
    assert main(["bench", "long", "--quick", "--results", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "long_sequence_quick.json").read_text())
    results = payload["results"]
    assert set(results) == {"plain", "checkpoint_every=100", "checkpoint_every=100, backward=hand"}
    for r in results.values():
        assert r["planned_bytes"] > 0 and r["peak_rss_bytes"] > r["planned_bytes"]
        assert len(r["seconds_per_step"]) == 1 and r["loss"] > 0
    # the three variants train the same model on the same batch: the same loss
    losses = [r["loss"] for r in results.values()]
    assert max(losses) - min(losses) < 1e-4, losses
    assert "long_sequence_quick.json" in capfd.readouterr().out  # the script's own output
