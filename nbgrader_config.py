"""nbgrader configuration for the course: the repository root is the course directory.

source/NN_topic/NN_topic.ipynb  -> the only notebooks edited by hand
notebooks/NN_topic/             -> student versions (`make notebooks`)
submitted/<student>/NN_topic/   -> submissions to autograde (instructors)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nbgrader.preprocessors import (  # noqa: E402
    CheckCellMetadata,
    ClearOutput,
    OverwriteCells,
    OverwriteKernelspec,
)

from course.nbgrader_fixes import DeduplicateIdsFixed  # noqa: E402

c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.release_directory = "notebooks"

# Autograding: a per-cell time limit, deleted test cells put back and run, and
# split cells that do not abort the batch.
c.Execute.timeout = 30
c.Execute.kernel_name = "python3"
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIdsFixed,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
