"""The documents' generated parts: tables and figures rendered from committed study results.

`seqlab docs` (render.py) rewrites the generated blocks of REPRODUCTIONS.md and
experiments/*.md; blocks.py names the blocks, papers.py holds the published numbers they are
placed against, studies.py reads the committed results, figures.py draws the PNGs.
"""
