"""The BlazePose .tflite model files: where they live, and fetching them, as an explicit step.

Owns: the list of model files with their sources and sha256 digests, the model directory,
`fetch`, and the `fetch-models` command: its options and run (`add_fetch_arguments`,
`fetch_command`, which `pose-lifting fetch-models` registers) and `main`, the same command on its
own (`ros2 run pose_lifting fetch_models`; scripts/setup.sh runs `pose-lifting fetch-models`).
Building the package downloads nothing, and nothing here is called at run time except
`model_path`, which only looks on disk.

Sources (both Apache-2.0, both through the ordinary package clients):
  * the PyPI wheel mediapipe==0.10.21 carries the person detector and the "full" landmark model.
    It is downloaded with `pip download --no-deps` and only those two files are extracted;
    mediapipe itself is never installed (it would pin numpy<2 and pull opencv-contrib and jax).
  * the npm package @mediapipe/pose@0.5.1675469404 carries the "lite" and "heavy" landmark
    models. It is fetched with `npm pack` only when an `npm` executable is found; without npm,
    "lite" and "heavy" are unavailable and "full" (the default) still works.

Model directory: $POSE_LIFTING_MODEL_DIR, else the pose_lifting package's share directory in the
ament index (a colcon install, or the messages built into .venv), else
<sys.prefix>/share/pose_lifting/models.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional

from pose_lifting_core.detection import DetectorError
from pose_lifting_core.files import atomic_path

MEDIAPIPE_WHEEL = "mediapipe==0.10.21"
# Every mediapipe 0.10.21 wheel carries the same .tflite files; pinning one platform makes the
# download independent of the machine running set-up.
_WHEEL_PLATFORM = (
    "--platform",
    "manylinux_2_28_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--only-binary=:all:",
)
NPM_PACKAGE = "@mediapipe/pose@0.5.1675469404"


@dataclass(frozen=True)
class ModelFile:
    """One model file: its name on disk, which package carries it and where, and its sha256."""

    filename: str
    source: str  # "pypi" or "npm"
    member: str  # path inside the wheel (zip) or the npm tarball
    sha256: str
    size: int  # bytes


MODELS: Dict[str, ModelFile] = {
    "detector": ModelFile(
        "pose_detection.tflite",
        "pypi",
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        2959046,
    ),
    "full": ModelFile(
        "pose_landmark_full.tflite",
        "pypi",
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
        6440512,
    ),
    "lite": ModelFile(
        "pose_landmark_lite.tflite",
        "npm",
        "package/pose_landmark_lite.tflite",
        "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
        2819824,
    ),
    "heavy": ModelFile(
        "pose_landmark_heavy.tflite",
        "npm",
        "package/pose_landmark_heavy.tflite",
        "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
        27709200,
    ),
}
LANDMARK_MODELS = ("lite", "full", "heavy")


FETCH_COMMAND = "pose-lifting fetch-models (on a ROS install: ros2 run pose_lifting fetch_models)"


def model_dir() -> str:
    """The directory holding the model files: $POSE_LIFTING_MODEL_DIR, else
    <pose_lifting share>/models from the ament index (colcon installs; pip installs whose
    messages were built into .venv, where it is <prefix>/share/pose_lifting), else
    <python prefix>/share/pose_lifting/models."""
    env = os.environ.get("POSE_LIFTING_MODEL_DIR")
    if env:
        return env
    try:
        from ament_index_python.packages import get_package_share_directory

        return os.path.join(get_package_share_directory("pose_lifting"), "models")
    except Exception:  # not a ROS install, or pose_lifting not in the ament index
        return os.path.join(sys.prefix, "share", "pose_lifting", "models")


def model_path(name: str, directory: Optional[str] = None) -> str:
    """Path of model `name` ("detector", "lite", "full", "heavy") in `directory` (default
    `model_dir()`). Raises DetectorError naming the file when it is unknown or missing."""
    if name not in MODELS:
        raise DetectorError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    path = os.path.join(directory or model_dir(), MODELS[name].filename)
    if not os.path.isfile(path):
        hint = ""
        if MODELS[name].source == "npm":
            hint = " (the lite and heavy models need npm at set-up time)"
        raise DetectorError(f"model file {path} is missing{hint}; run: {FETCH_COMMAND}")
    return path


def sha256_of(path: str) -> str:
    """Hex sha256 digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_good(path: str, spec: ModelFile) -> bool:
    return (
        os.path.isfile(path)
        and os.path.getsize(path) == spec.size
        and sha256_of(path) == spec.sha256
    )


def _run(cmd: List[str], cwd: str, what: str) -> None:
    try:
        r = subprocess.run(
            cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DetectorError(f"{what} failed: {e}")
    if r.returncode != 0:
        lines = [
            ln
            for ln in (r.stderr + r.stdout).splitlines()
            if ln.strip() and "is ignored" not in ln
        ]
        last = lines[-1].strip() if lines else f"exit code {r.returncode}"
        raise DetectorError(f"{what} failed: {last}")


def _download_package(source: str, tmp: str) -> str:
    """Download the package of `source` into `tmp`; return the archive path."""
    if source == "pypi":
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                *_WHEEL_PLATFORM,
                MEDIAPIPE_WHEEL,
                "-d",
                tmp,
            ],
            tmp,
            f"pip download {MEDIAPIPE_WHEEL}",
        )
        found = [f for f in os.listdir(tmp) if f.startswith("mediapipe-") and f.endswith(".whl")]
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise DetectorError("npm not found")
        _run([npm, "pack", "--silent", NPM_PACKAGE], tmp, f"npm pack {NPM_PACKAGE}")
        found = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
    if len(found) != 1:
        raise DetectorError(f"no single package archive after downloading from {source}: {found}")
    return os.path.join(tmp, found[0])


def _extract(archive: str, member: str, dest: str) -> None:
    """Copy `member` of a wheel (zip) or tarball into the file `dest`."""
    try:
        if archive.endswith(".whl"):
            with zipfile.ZipFile(archive) as z, z.open(member) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
        else:
            with tarfile.open(archive, "r:gz") as t:
                src = t.extractfile(member)
                if src is None:
                    raise KeyError(member)
                with src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (KeyError, zipfile.BadZipFile, tarfile.TarError) as e:
        raise DetectorError(f"{os.path.basename(archive)} lacks {member} or is unreadable: {e}")


def fetch(
    names: Optional[Iterable[str]] = None,
    directory: Optional[str] = None,
    log: Callable[[str], None] = print,
) -> Dict[str, str]:
    """Make sure the model files are in `directory` (default `model_dir()`).

    names: models to fetch (default all). A file already there with the right sha256 is kept;
    one source package is downloaded at most once. Logs one line per model.
    Returns {name: "present" | "fetched" | "unavailable: <reason>"}. An npm model is
    "unavailable" when npm is missing; any other failure (download, bad digest) raises
    DetectorError.
    """
    directory = directory or model_dir()
    wanted = list(MODELS) if names is None else list(names)
    for n in wanted:
        if n not in MODELS:
            raise DetectorError(f"unknown model {n!r}; known: {', '.join(MODELS)}")
    os.makedirs(directory, exist_ok=True)
    status: Dict[str, str] = {}
    todo = []
    for n in wanted:
        path = os.path.join(directory, MODELS[n].filename)
        if _is_good(path, MODELS[n]):
            status[n] = "present"
            log(f"{n}: present {path}")
        else:
            todo.append(n)
    archives: Dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="pose_lifting_models_") as tmp:
        for n in todo:
            spec = MODELS[n]
            path = os.path.join(directory, spec.filename)
            if spec.source == "npm" and shutil.which("npm") is None:
                status[n] = "unavailable: npm not found (lite/heavy need npm at set-up time)"
                log(f"{n}: {status[n]}")
                continue
            if spec.source not in archives:
                sub = os.path.join(tmp, spec.source)
                os.makedirs(sub)
                archives[spec.source] = _download_package(spec.source, sub)
            with atomic_path(path) as part:  # in place only once complete and verified
                _extract(archives[spec.source], spec.member, part)
                digest = sha256_of(part)
                if digest != spec.sha256:
                    raise DetectorError(
                        f"{spec.filename}: sha256 {digest} != expected {spec.sha256}"
                    )
            status[n] = "fetched"
            log(f"{n}: fetched {path}")
    return status


def add_fetch_arguments(parser) -> None:
    """The options of `pose-lifting fetch-models` (and of `ros2 run pose_lifting fetch_models`):
    --dir, --models, --list."""
    parser.add_argument(
        "--dir",
        default=None,
        help="model directory (default: $POSE_LIFTING_MODEL_DIR, else the "
        "pose_lifting share directory, else <prefix>/share/pose_lifting/models)",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=list(MODELS),
        default=None,
        help="which models (default: all)",
    )
    parser.add_argument(
        "--list", action="store_true", help="only say which model files are present"
    )


def fetch_command(args) -> int:
    """Run `fetch-models` with the parsed options of `add_fetch_arguments`: fetch the models, or
    with --list only print which files are present. Returns the exit status (0)."""
    directory = args.dir or model_dir()
    if args.list:
        for n in args.models or list(MODELS):
            path = os.path.join(directory, MODELS[n].filename)
            print(f"{n}: {'present' if os.path.isfile(path) else 'missing'} {path}")
        return 0
    fetch(args.models, directory)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """`ros2 run pose_lifting fetch_models` and `python -m pose_lifting_core.detection.models`:
    `pose-lifting fetch-models` without the rest of the command line (the same options, one-line
    errors, exit status 2 for a failure and 130 when interrupted)."""
    from pose_lifting_core.command import OneLineParser, run_command

    prog = "pose-lifting fetch-models"
    parser = OneLineParser(prog=prog)
    add_fetch_arguments(parser)
    args = parser.parse_args(argv)
    return run_command(prog, lambda: fetch_command(args), (DetectorError, ValueError, OSError))


if __name__ == "__main__":
    sys.exit(main())
