"""JupyterHub for the course: students hand in through nbgrader's exchange, instructors grade.

    jupyterhub -f deploy/jupyterhub_config.py        # as root, on the machine of the course

What each user gets (deploy/jupyter/<role>/ goes first in the server's JUPYTER_CONFIG_PATH,
then deploy/ itself for nbgrader_config.py):

| group | JupyterLab | server extensions |
| --- | --- | --- |
| students (everyone else) | Assignment List (fetch, validate, submit, fetch feedback), Validate | assignment_list, validate_assignment |
| `instructors`, `tas` | the above, formgrader, course list, Create Assignment | all four of nbgrader's |

Instructors' and TAs' servers open in the course folder (CNN_COURSE_ROOT, a clone of this
repository) and get the gradebook's URL (CNN_COURSE_DB) when the hub has one; students' servers
get neither. Hiding the formgrader is a convenience, not the protection: that is file
permissions (the course folder and the gradebook belong to the instructors) and the
exchange's inbound folder, which students can write to but not list.

This file runs as it stands on one machine: local Unix users (PAM), one server process per user
(LocalProcessSpawner), the hub's own Python environment for the servers. The lists of users come
from the environment (comma-separated): CNN_INSTRUCTORS, CNN_TAS, CNN_STUDENTS.
tests/test_hub.py starts it with DummyAuthenticator and three local users and walks the whole
path (release, fetch, submit, collect, grade, feedback) with nbgrader's own commands.

A real deployment changes:
- the authenticator: the university's login (OAuthenticator/GenericOAuthenticator, LTI from the
  learning platform, LDAP) instead of PAM, with the groups from there (Authenticator.manage_groups)
  rather than from CNN_INSTRUCTORS/CNN_TAS;
- the spawner: DockerSpawner or KubeSpawner (Zero to JupyterHub on Kubernetes) with an image of
  this repository installed (`pip install -e ".[course]"`), memory and CPU limits per user, and
  the same JUPYTER_CONFIG_PATH/role logic (KubeSpawner's profile or this pre_spawn_hook);
- storage: the exchange (CNN_EXCHANGE) and the course folder (CNN_COURSE_ROOT) on storage every
  server mounts at the same path (NFS, a ReadWriteMany volume); home folders per user;
- the gradebook: CNN_COURSE_DB=postgresql+psycopg://grader:PASSWORD@db/cnn (set it in the hub's
  environment; only instructors' servers get it), shared by the formgrader and by the graders
  (`make grade ARGS="--worker"`, one per machine or Kubernetes Job, README "Running a large class");
- HTTPS (JupyterHub.ssl_cert/ssl_key or a proxy in front), a persistent hub database
  (JupyterHub.db_url), and a cookie secret and proxy token kept outside the repository.
"""
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821

HERE = Path(__file__).resolve().parent
COURSE_ROOT = os.environ.get("CNN_COURSE_ROOT", "/srv/cnn-course")
EXCHANGE = os.environ.get("CNN_EXCHANGE", "/srv/nbgrader/exchange")
STAFF_GROUPS = ("instructors", "tas")


def _users(variable: str) -> set[str]:
    return {u.strip() for u in os.environ.get(variable, "").split(",") if u.strip()}


instructors, tas, students = _users("CNN_INSTRUCTORS"), _users("CNN_TAS"), _users("CNN_STUDENTS")

c.JupyterHub.bind_url = os.environ.get("CNN_HUB_URL", "http://:8000")
# Local Unix users (PAM) on this machine, each server a process of its own user.
c.JupyterHub.authenticator_class = "pam"
c.JupyterHub.spawner_class = "localprocess"
c.Authenticator.allowed_users = instructors | tas | students
# No admin_users here: a hub admin may open any student's server. Name the hub's operators, not the
# instructors (who need only the formgrader), in c.Authenticator.admin_users.
# The groups decide the role (below); nbgrader's JupyterHubAuthPlugin would also read
# formgrade-cnn-course / nbgrader-cnn-course groups where several courses share the hub.
c.JupyterHub.load_groups = {
    "instructors": {"users": sorted(instructors)},
    "tas": {"users": sorted(tas)},
    "students": {"users": sorted(students)},
}

# The servers run from the hub's own environment (the course's venv, with nbgrader and cnnlib).
c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
# A JupyterLab with nbgrader's extensions starts in several seconds on a busy machine.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def role(user) -> str:
    """ "instructor" for the instructors and teaching assistants, else "student"."""
    return "instructor" if {g.name for g in user.groups} & set(STAFF_GROUPS) else "student"


def per_role(spawner) -> None:
    """Give each server its role's nbgrader panels, the exchange, and (staff) the course folder."""
    who = role(spawner.user)
    spawner.environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(HERE / "jupyter" / who), str(HERE)])
    spawner.environment["CNN_EXCHANGE"] = EXCHANGE
    if who == "instructor":
        spawner.environment["CNN_COURSE_ROOT"] = COURSE_ROOT
        spawner.notebook_dir = COURSE_ROOT
        if os.environ.get("CNN_COURSE_DB"):
            spawner.environment["CNN_COURSE_DB"] = os.environ["CNN_COURSE_DB"]


c.Spawner.pre_spawn_hook = per_role
