"""The committed study results a document's blocks read, loaded once each."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


class MissingStudy(Exception):
    """A block's study has no committed results; `str()` says how to produce them."""


class Studies:
    """Access to `<results>/<study>.json` (seqlab export) and to the figures folder."""

    def __init__(self, results: Path, figures: Path, write_figures: bool = True):
        self.results = Path(results)
        self.figures = Path(figures)
        self.write_figures = write_figures
        self.document_dir = Path()  # the folder of the document being rendered (for links)
        self._cache: dict[str, tuple] = {}

    def has(self, study: str) -> bool:
        return (self.results / f"{study}.json").is_file()

    def _load(self, study: str) -> tuple:
        if study not in self._cache:
            path = self.results / f"{study}.json"
            if not path.is_file():
                raise MissingStudy(
                    f"*No committed results for `{study}` yet: run its sweep "
                    f"(`seqlab sweep experiments/{study}.py --workdir runs/{study}`), then "
                    f"`seqlab export runs/{study} -o {path}` and `seqlab docs`.*"
                )
            from seqlab.results.export import read_export

            self._cache[study] = read_export(path)
        return self._cache[study]

    def record(self, name: str, command: str) -> dict:
        """`<results>/<name>.json` as written by a study's own script (not seqlab export);
        `command` is how to write it, for the message when it is missing."""
        path = self.results / f"{name}.json"
        if not path.is_file():
            raise MissingStudy(f"*No committed results `{path}` yet: run `{command}`.*")
        return json.loads(path.read_text())

    def seeds(self, study: str) -> pd.DataFrame:
        return self._load(study)[0]

    def curves(self, study: str) -> pd.DataFrame:
        return self._load(study)[1]

    def meta(self, study: str) -> dict:
        return self._load(study)[2]

    def figure(self, name: str, draw) -> str:
        """Writes `draw()`'s matplotlib figure to `<figures>/<name>.png` (unless checking)
        and returns the Markdown that shows it, relative to the repository root."""
        path = self.figures / f"{name}.png"
        if self.write_figures:
            import matplotlib.pyplot as plt

            fig = draw()
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
            plt.close(fig)
        link = Path(os.path.relpath(path, self.document_dir)).as_posix()
        return f"![{name}]({link})"
