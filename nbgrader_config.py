"""nbgrader configuration for the course: the repository root is the course directory.

source/NN_topic/NN_topic.ipynb  -> the only notebooks edited by hand
notebooks/NN_topic/             -> student versions (`make notebooks`)
submitted/<student>/NN_topic/   -> submissions to grade (`make grade`, see course/grade.py)
"""
import os
from pathlib import Path

import nbgrader
from nbconvert.preprocessors import CoalesceStreamsPreprocessor, TagRemovePreprocessor
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.preprocessors import DeduplicateIds, Execute, GetGrades, IncludeHeaderFooter, LimitOutput

from course.autograding import (
    GradingExecute,
    InjectIntegrityChecks,
    LimitOutputSize,
    RemoveIntegrityChecks,
    WarningsCostNothing,
    use_course_validator,
)
from course.export import StatusCsvExportPlugin
from course.feedback import FeedbackExporter, HideHiddenTests, ShortenTracebacks
from course.nbgrader_fixes import DeduplicateIdsFixed

c = get_config()  # noqa: F821


def nbgrader_list(converter, trait, replace):
    """nbgrader's default preprocessor list ``converter.trait``, each class found in
    ``replace`` swapped for the list it maps to: nbgrader's own steps stay in its order, and
    a newer nbgrader's additions are kept."""
    defaults = converter.class_traits()[trait].make_dynamic_default()
    unknown = set(replace) - set(defaults)
    if unknown:
        raise RuntimeError(f"nbgrader's {converter.__name__}.{trait} no longer has {unknown}: update nbgrader_config.py")
    return [new for p in defaults for new in replace.get(p, [p])]


c.CourseDirectory.course_id = "cnn-course"
# The gradebook: SQLite in the course folder, or the database that `make grade --db` /
# $CNN_COURSE_DB names (a PostgreSQL server shared by several graders, see the README).
if os.environ.get("CNN_COURSE_DB"):
    c.CourseDirectory.db_url = os.environ["CNN_COURSE_DB"]
c.CourseDirectory.release_directory = "notebooks"
# What an exercise holds in the student version; the check cell below it shows this message.
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("replace this line with your code, then run the check cell below")'
}
# Short answers to a notebook's open questions sit in markdown cells tagged "answers":
# solutions/ keeps them, the student version drops them.
c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_cell_tags = {"answers"}
c.GenerateAssignment.preprocessors = nbgrader_list(GenerateAssignment, "preprocessors", {
    IncludeHeaderFooter: [TagRemovePreprocessor, IncludeHeaderFooter],
})
# course/grade.py keeps a grading.json beside each autograded notebook; students do not get it.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "grading.json"]

# Autograding limits: per cell, per notebook, and the kernel's memory.
c.Execute.timeout = 30
c.Execute.kernel_name = "python3"
# The grading kernels' own start-up warnings (ipykernel's TCP notice) are noise in the log.
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
c.Execute.error_on_timeout = {
    "ename": "CellTimeoutError",
    "evalue": "this cell ran past the grader's time limit per cell and was interrupted",
    "traceback": ["CellTimeoutError: this cell ran past the grader's time limit per cell and was interrupted"],
}
c.GradingExecute.notebook_timeout = 300
c.GradingExecute.memory_limit_mb = 4096
# The sandbox (course/sandbox.py): CPU seconds per process, enough for two threads all the notebook.
c.SandboxedKernelManager.cpu_seconds = 2 * 300
c.LimitOutput.max_lines = 1000
c.LimitOutputSize.max_chars = 100_000

# Deleted test cells are put back and run; split cells do not abort the batch.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = nbgrader_list(Autograde, "sanitize_preprocessors", {
    DeduplicateIds: [DeduplicateIdsFixed],
})
# nbgrader's own list, with GradingExecute for Execute, the integrity checks around it,
# each cell's printed text as one output however the kernel flushed it (CoalesceStreams: the
# same notebook and feedback every run), WarningsCostNothing (stderr in a test cell is not a
# failure) and LimitOutputSize after LimitOutput.
c.CoalesceStreamsPreprocessor.enabled = True  # nbconvert's preprocessors are off unless enabled
c.Autograde.autograde_preprocessors = nbgrader_list(Autograde, "autograde_preprocessors", {
    Execute: [InjectIntegrityChecks, GradingExecute, RemoveIntegrityChecks,
              CoalesceStreamsPreprocessor, WarningsCostNothing],
    LimitOutput: [LimitOutput, LimitOutputSize],
})

# Validate (the button and `nbgrader validate`) shares the grader's rule on warnings.
use_course_validator()

# Feedback shows what failed and why, without the hidden tests' code.
c.GenerateFeedback.preprocessors = nbgrader_list(GenerateFeedback, "preprocessors", {
    GetGrades: [GetGrades, HideHiddenTests, ShortenTracebacks],
})
# ... and its math as MathML, with nbgrader's MathJax script (from a CDN) left out: the page
# loads nothing from the network. nbgrader's own feedback template stays in use.
c.HTMLExporter.extra_template_basedirs = [
    str(Path(__file__).resolve().parent / "course" / "feedback_templates"),
    str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"),
]
c.HTMLExporter.filters = {"markdown2html": "course.feedback.markdown2html"}
# ... written without nbconvert's closing BeautifulSoup pass over the page (half a second each).
c.GenerateFeedback.exporter_class = FeedbackExporter

# `nbgrader export` adds a status and a reason column (scored 0 / could not be graded / ...).
c.ExportApp.plugin_class = StatusCsvExportPlugin
