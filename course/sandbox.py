"""The grading kernel in a bubblewrap sandbox (Linux), so that a submission cannot reach the class.

:class:`SandboxedKernelManager` starts the usual ipykernel command inside ``bwrap``. What
the kernel sees:

- the system (``/usr``, ``/etc``) and the Python environment read-only, and the folder
  of the ``cnnlib`` package, so that the notebook imports it as usual; nothing else of
  the host: not the course directory (gradebook, ``source/``, other students' files),
  not the instructor's home, not the grader's environment variables (an explicit,
  minimal environment is passed);
- a private working copy of this notebook's folder (its data files; not the notebooks,
  since nbgrader has already written the hidden tests back into the one being graded) as
  its current directory and a private ``/tmp``, each a size-limited tmpfs, both thrown away with the sandbox;
- the folder of its own Unix sockets, the only way in or out;
- no network (its own network namespace: even 127.0.0.1 is its own), its own PID
  namespace (it can neither see nor signal the grader), its own IPC and UTS namespaces;
- a limit on processes (a fork bomb stops there) and on CPU seconds; the memory limit
  is set by :class:`course.autograding.GradingExecute`.

Run by root, the kernel drops to an unprivileged user id of its own (``setpriv``), since
root is exempt from the process limit; run by anyone else, it goes into a user namespace.
Everything in the sandbox dies with the kernel (``--die-with-parent``, and the PID
namespace ends with its first process), background processes included. Interrupts go
as messages on the control channel: a SIGINT to ``bwrap`` would end the sandbox.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer

HOME = "/home/student"
INPUT = "/run/grading/submission"  # the notebook's files (see files_to_copy), read-only, copied to HOME
FONTS = "/run/grading/matplotlib"  # the host's matplotlib cache, read-only: its font list is copied
# Variables the kernel gets from the grader; everything else is left out.
PASSED_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
              "OPENBLAS_L2_SIZE", "NBGRADER_EXECUTION", "TZ")
NAMESPACES = ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try")
TOOLS = ("bwrap", "setpriv", "prlimit")
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install "
                "bubblewrap`), or grade without a sandbox with `make grade ARGS=--no-sandbox`")
SANDBOX_UID_BASE = 1_000_000  # + the grader's pid: ids no one else uses, one per grading process


def _is_root() -> bool:
    return os.geteuid() == 0


def _system_mounts() -> list[str]:
    """``bwrap`` arguments for the read-only system: /usr, /etc and the usual top-level links."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def python_folders(work: str) -> list[str]:
    """The folders the kernel's Python needs: its prefixes and the ``cnnlib`` package.

    A folder that holds the notebook's working folder (the course directory, when the
    course root is on ``sys.path``) is never among them: of such a folder only the
    ``cnnlib`` package is shown.
    """
    spec = importlib.util.find_spec("cnnlib")
    cnnlib = [os.path.realpath(p) for p in (spec.submodule_search_locations or [])] if spec else []
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    folders = {os.path.realpath(p) for p in candidates if os.path.isdir(p)}
    work = os.path.realpath(work)
    folders = {f for f in folders if f != "/" and not _inside(work, f)}
    folders.update(cnnlib)
    # A folder inside another one is already there.
    return sorted(f for f in folders if not any(g != f and _inside(f, g) for g in folders))


def matplotlib_cache() -> str | None:
    """The host's matplotlib cache folder, where it exists (its font list saves each kernel a second)."""
    folder = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
    return folder if os.path.isdir(folder) else None


def _parents(paths) -> list[str]:
    """Every ancestor folder of ``paths`` (bwrap would make them mode 0700: unreadable)."""
    found = set()
    for path in paths:
        parent = os.path.dirname(path)
        while parent not in ("/", ""):
            found.add(parent)
            parent = os.path.dirname(parent)
    return sorted(found)


def files_to_copy(work: str, dest: str) -> str:
    """Copy the files of the notebook's folder ``work`` that the kernel may see to ``dest``.

    Not the notebooks: nbgrader writes the one being graded there with its hidden tests
    put back before it runs it. Not symbolic links, which could point out of the folder.
    """
    def leave_out(folder, names):
        return [n for n in names if n.endswith(".ipynb") or os.path.islink(os.path.join(folder, n))]

    shutil.rmtree(dest, ignore_errors=True)  # from a kernel started before
    shutil.copytree(work, dest, ignore=leave_out)
    return dest


def sandbox_command(cmd: list[str], *, work: str, socket_dir: str, disk_mb: int = 256,
                    max_processes: int = 256, cpu_seconds: int = 0, uid: int | None = None,
                    files: str | None = None) -> list[str]:
    """``cmd`` (the kernel's command line) wrapped in ``bwrap``.

    ``work`` is the notebook's folder on the host; the kernel runs in a copy of it, in
    ``/home/student/<its name>``, made from ``files`` (see :func:`files_to_copy`; an empty
    folder when None). ``socket_dir`` holds the connection file and the
    kernel's sockets and is the one folder shared with the host. With ``uid`` (the
    grader is root) the kernel runs as that user id.
    """
    copy = f"{HOME}/{os.path.basename(os.path.normpath(work)) or 'work'}"
    folders = python_folders(work)
    cnnlib_parent = os.path.dirname(next((f for f in folders if os.path.basename(f) == "cnnlib"), ""))
    args = ["bwrap", *NAMESPACES, "--die-with-parent", "--proc", "/proc", "--dev", "/dev",
            *_system_mounts(),
            "--perms", "01777", "--size", str(disk_mb << 20), "--tmpfs", "/tmp",
            "--perms", "0755", "--size", str(disk_mb << 20), "--tmpfs", HOME]
    if uid is None:
        args[1:1] = ["--unshare-user", "--disable-userns"]
    for folder in _parents([*folders, socket_dir, INPUT, FONTS]):
        if folder not in ("/tmp", "/usr", "/etc", "/home"):
            args += ["--perms", "0755", "--dir", folder]
    for folder in folders:
        args += ["--ro-bind", folder, folder]
    args += ["--bind", socket_dir, socket_dir]
    if files:
        args += ["--ro-bind", files, INPUT]
    fonts = matplotlib_cache()
    if fonts:
        args += ["--ro-bind", fonts, FONTS]
    env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin", "HOME": HOME, "USER": "student",
           "LOGNAME": "student", "LANG": "C.UTF-8", "MPLCONFIGDIR": f"{HOME}/.matplotlib",
           # The kernel's parent is bwrap's PID 1, so ipykernel has no parent to watch (the
           # sandbox dies with the grader). Without a parent PID it takes itself for one started
           # by hand and prints ten lines of "Ctrl-C will not work" to the grader's terminal.
           "JPY_PARENT_PID": "1",
           **{k: os.environ[k] for k in PASSED_ENV if k in os.environ}}
    if cnnlib_parent:
        env["PYTHONPATH"] = cnnlib_parent
    args.append("--clearenv")
    for key, value in env.items():
        args += ["--setenv", key, value]
    limits = [f"--nproc={max_processes}"] + ([f"--cpu={cpu_seconds}"] if cpu_seconds else [])
    setup = f"cp -R {INPUT}/. {shlex.quote(copy)}/" if files else "true"
    if fonts:
        setup += (f" && mkdir -p {env['MPLCONFIGDIR']} && {{ cp {FONTS}/fontlist-*.json "
                  f"{env['MPLCONFIGDIR']}/ 2>/dev/null || true; }}")
    if uid is not None:
        setup += f" && chown -R {uid}:{uid} {HOME}"
        run = (f"setpriv --reuid={uid} --regid={uid} --clear-groups --inh-caps=-all "
               "--bounding-set=-all --no-new-privs -- ")
    else:
        run = ""
    script = (f"mkdir -p {shlex.quote(copy)} && {setup} && cd {shlex.quote(copy)} && "
              f"exec prlimit {' '.join(limits)} -- {run}\"$@\"")
    return [*args, "--chdir", "/", "--", "/bin/sh", "-c", script, "sandbox", *cmd]


def _own_tasks() -> int:
    """Processes and threads of this user id: RLIMIT_NPROC counts them all."""
    uid, count = os.getuid(), 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                count += len(os.listdir(entry / "task"))
        except OSError:
            continue
    return count


@functools.cache
def unavailable() -> str | None:
    """Why no sandbox can be made here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap sandboxes need Linux, and this is {sys.platform}"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not found"
    probe = ["bwrap", *NAMESPACES, "--die-with-parent", "--proc", "/proc", "--dev", "/dev",
             *_system_mounts(), "/bin/sh", "-c", "true"]
    if not _is_root():
        probe[1:1] = ["--unshare-user", "--disable-userns"]
    try:
        out = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as err:
        return f"bwrap could not run: {err}"
    if out.returncode != 0:
        return f"bwrap could not make a sandbox here: {out.stderr.strip() or out.returncode}"
    return None


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in :func:`sandbox_command`'s sandbox.

    The connection file must lie in the sockets' folder (``connection_file``) and the
    transport be ``ipc``: :class:`course.autograding.GradingExecute` sets both.
    """

    disk_mb = Integer(256, help="Size of the working copy's tmpfs and of /tmp, each, in MiB.").tag(config=True)
    max_processes = Integer(256, help="Processes and threads the kernel's user may have.").tag(config=True)
    cpu_seconds = Integer(0, help="CPU seconds of each process in the sandbox (0: no limit).").tag(config=True)

    @property
    def kernel_spec(self):
        spec = AsyncKernelManager.kernel_spec.fget(self)
        if spec is not None:
            spec.interrupt_mode = "message"  # a signal to bwrap would end the sandbox
        return spec

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        socket_dir = os.path.dirname(self.connection_file)
        work = self._launch_args.get("cwd") or os.getcwd()
        uid = None
        processes = self.max_processes
        if _is_root():
            uid = SANDBOX_UID_BASE + os.getpid()
            for path in (socket_dir, self.connection_file):
                os.chown(path, uid, uid)
        else:  # the limit counts every process of this user, inside the sandbox or not
            processes += _own_tasks()
        files = files_to_copy(work, os.path.join(socket_dir, "files"))
        return sandbox_command(cmd, work=work, socket_dir=socket_dir, disk_mb=self.disk_mb,
                               max_processes=processes, cpu_seconds=self.cpu_seconds, uid=uid, files=files)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # bwrap's own first process stays in the sandbox as its PID 1: it gets no secrets either.
        kw["env"] = {key: os.environ[key] for key in ("PATH", "LANG") if key in os.environ}
        await super()._async_launch_kernel(kernel_cmd, **kw)

    _launch_kernel = _async_launch_kernel
