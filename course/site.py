"""Build the course's static HTML site from the executed notebooks in solutions/.

    python -m course.site              # writes build/site/index.html, one page per notebook
    python -m course.site --out DIR    # somewhere else

Every page is rendered by nbconvert's HTMLExporter with the lab template, extended in
``course/site_template/`` by a contents / previous / next bar and with every asset local:
MathJax 2 comes from the ``jupyter-server-mathjax`` package and is copied into the site,
figures are embedded in the pages, and nothing is loaded from a CDN. The home page is a
notebook made here from the title and learning goals in each notebook's first cell.
"""
from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import jupyter_server_mathjax
import nbformat
from nbconvert import HTMLExporter

from . import ROOT

OUT = ROOT / "build" / "site"
TEMPLATE = Path(__file__).parent / "site_template"
MATHJAX = Path(jupyter_server_mathjax.__file__).parent / "static"
# The combined configuration that jupyter-server-mathjax ships (TeX input, HTML-CSS output).
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"


def notebooks(solutions: Path = ROOT / "solutions") -> list[Path]:
    """The executed notebooks ``solutions/NN_topic/NN_topic.ipynb``, in course order."""
    return sorted(p for p in solutions.glob("*/*.ipynb") if p.stem == p.parent.name)


def title_and_goals(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """The ``# NN · Topic`` title and the learning-goals markdown of a notebook's first cell."""
    first = next(c.source for c in nb.cells if c.cell_type == "markdown")
    heading = re.search(r"^#\s+(.+)$", first, re.M)
    goals = re.search(r"\*\*Learning goals\.\*\*.*?(?=\n\s*\n\*\*|\n\*\*Prerequisites|\Z)", first, re.S)
    return (heading.group(1).strip() if heading else "Untitled",
            goals.group(0).strip() if goals else "")


def home_notebook(entries: list[tuple[str, str, str]]) -> nbformat.NotebookNode:
    """The home page as a notebook: a table of contents, then each notebook's goals."""
    toc = "\n".join(f"{i + 1}. [{title}]({url})" for i, (url, title, _) in enumerate(entries))
    cells = [nbformat.v4.new_markdown_cell(
        "# Convolutional networks from the ground up\n\n"
        "The course's notebooks, complete and executed, with their outputs and figures. To work "
        "through the exercises yourself, open the student versions in `notebooks/` with "
        "`make lab`.\n\n## Contents\n\n" + toc)]
    cells += [nbformat.v4.new_markdown_cell(f"## [{title}]({url})\n\n{goals}")
              for url, title, goals in entries]
    return nbformat.v4.new_notebook(cells=cells)


def build(out: Path = OUT, solutions: Path = ROOT / "solutions") -> list[Path]:
    """Write the site into ``out`` (replacing it); return the pages written, home first."""
    if out.exists():
        if any(out.iterdir()) and not (out / "mathjax" / "MathJax.js").is_file():
            raise SystemExit(f"{out} is neither empty nor an earlier site build: not replacing it")
        shutil.rmtree(out)
    shutil.copytree(MATHJAX, out / "mathjax")
    exporter = HTMLExporter(template_name=TEMPLATE.name, extra_template_basedirs=[str(TEMPLATE.parent)])

    def write(nb, path: Path, title: str, nav: dict) -> Path:
        depth = len(path.relative_to(out).parts) - 1
        exporter.mathjax_url = "../" * depth + f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"
        html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}, "nav": nav})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        return path

    paths = notebooks(solutions)
    nbs = [nbformat.read(p, as_version=4) for p in paths]
    names = [p.parent.name for p in paths]
    entries = [(f"{name}/index.html", *title_and_goals(nb)) for name, nb in zip(names, nbs)]
    pages = [write(home_notebook(entries), out / "index.html", "Convolutional networks from the ground up",
                   {"home": "index.html", "prev": None, "next": entries[0][:2] if entries else None})]
    for i, (name, nb) in enumerate(zip(names, nbs)):
        # Files beside a notebook (pictures its markdown links to) go beside its page.
        shutil.copytree(solutions / name, out / name, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
        nav = {"home": "../index.html",
               "prev": ("../" + entries[i - 1][0], entries[i - 1][1]) if i > 0 else None,
               "next": ("../" + entries[i + 1][0], entries[i + 1][1]) if i + 1 < len(entries) else None}
        pages.append(write(nb, out / name / "index.html", entries[i][1], nav))
    return pages


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    pages = build(args.out.resolve())
    print(f"wrote {len(pages)} pages; open {pages[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
