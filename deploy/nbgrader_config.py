"""nbgrader settings every server of the course's JupyterHub shares (students' and instructors').

deploy/jupyterhub_config.py puts this folder in each user's JUPYTER_CONFIG_PATH, so the
assignment list, `nbgrader fetch_assignment`/`submit` (students) and `release_assignment`/
`collect`/`release_feedback` (instructors, from the course folder) all find the same exchange.
The course folder's own nbgrader_config.py (grading limits, feedback) is read on top of this one
when nbgrader runs in the course folder.

A real deployment changes, through the environment the hub gives each server:
- CNN_EXCHANGE: the exchange on storage every user's server mounts at the same path (NFS, or a
  ReadWriteMany volume on Kubernetes), created once by root with mode 0777: nbgrader makes
  `cnn-course/inbound` write-only for students (0733) and each submission folder is named with
  a random string, so a student cannot list or read another's submission.
- CNN_COURSE_ROOT (instructors and teaching assistants only): the course folder, a clone of this
  repository on shared storage, writable by the instructors' group; `make grade` runs there.
- CNN_COURSE_DB: the gradebook (PostgreSQL, shared by the graders and the formgrader), read by
  the course folder's nbgrader_config.py; give it only to the instructors' servers.
"""
import os

c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "cnn-course"
c.Exchange.root = os.environ.get("CNN_EXCHANGE", "/srv/nbgrader/exchange")
# One course on this hub: assignments live directly under <exchange>/cnn-course/ (nbgrader's
# default layout). With several courses sharing one exchange, nbgrader's JupyterHubAuthPlugin
# and groups named nbgrader-<course> / formgrade-<course> decide who sees which course.
if os.environ.get("CNN_COURSE_ROOT"):
    c.CourseDirectory.root = os.environ["CNN_COURSE_ROOT"]
