"""Work-arounds for nbgrader 0.9 behaviour that would otherwise lose grades."""
from nbgrader.preprocessors import DeduplicateIds


class DeduplicateIdsFixed(DeduplicateIds):
    """Deduplicate cell ids without aborting the whole autograde batch.

    When a student splits or copies a cell in JupyterLab, both halves carry the same
    nbgrader metadata. Upstream clears the duplicate's metadata to ``{}``, which later
    reads as schema version 0 and raises ``SchemaTooOldError``, stopping the grading of
    every student after this one (nbgrader issue #1083). Dropping the empty dict makes
    the duplicate an ordinary cell instead.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.metadata.get("nbgrader", None) == {}:
            del cell.metadata["nbgrader"]
        return cell, resources
