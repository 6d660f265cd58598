"""The built media layer, as Lambda loads it: a clean interpreter whose path
holds only the function package (build/chalice/deployment.zip, Lambda's
/var/task) and the layer's python/ (Lambda's /opt/python), nothing from the
virtualenv. It probes and thumbnails real media of every kind we store.

Needs `make package` first (make test runs it); a missing build fails, never skips.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from local.replicate_sim import media as sample_media
from tools.package_terraform import BUILD, LAYER_PYTHON, ZIP_TIME, write_reproducible_zip

# Runs processes or builds artifacts: not a pure test, so not in `make unit`.
pytestmark = pytest.mark.integration

LAYER_ZIP = BUILD / "media-layer.zip"
FUNCTION_ZIP = BUILD / "chalice" / "deployment.zip"

# Runs in the clean interpreter: sys.path is set by hand, as Lambda's is.
CHECK = r"""
import json, sys
task, layer, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [task, layer]
from chalicelib import media
import av, numpy, PIL
outside = [m.__file__ for m in (av, numpy, PIL) if not m.__file__.startswith(layer)]
results = {}
for name, (path, kind, thumbnail) in cases.items():
    try:
        info = media.probe(path, kind)
        media.make_thumbnail(path, kind, thumbnail)
        results[name] = {"ext": info.ext, "duration": info.duration, "width": info.width}
    except Exception as e:
        results[name] = {"error": f"{type(e).__name__}: {e}"}
print(json.dumps({"outside": outside, "results": results}))
"""


def lambda_python() -> str:
    """The base interpreter of the virtualenv (not the venv's own site-packages)."""
    python = getattr(sys, "_base_executable", sys.executable)
    version = subprocess.run([python, "-I", "-S", "-c",
                              "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == LAYER_PYTHON, f"{python} is Python {version}; the layer is for {LAYER_PYTHON}"
    return python


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    for built in (LAYER_ZIP, FUNCTION_ZIP):
        assert built.is_file(), f"{built} is missing: run `make package`"
    root = tmp_path_factory.mktemp("lambda")
    with zipfile.ZipFile(FUNCTION_ZIP) as zf:
        zf.extractall(root / "task")
    with zipfile.ZipFile(LAYER_ZIP) as zf:
        zf.extractall(root / "opt")
        # extractall drops the mode bits; FFmpeg's and numpy's libraries need none,
        # but keep what the zip says, as Lambda does.
        for info in zf.infolist():
            (root / "opt" / info.filename).chmod((info.external_attr >> 16) & 0o777)
    return root


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """Real media as the models return it (the simulator makes it)."""
    d = tmp_path_factory.mktemp("samples")
    files = {
        "png": (sample_media.image_bytes("layer", 1, 640, 480, "png"), "image"),
        "jpg": (sample_media.image_bytes("layer", 2, 640, 480, "jpg"), "image"),
        "mp4": (sample_media.video_bytes(None, 14, 7, 127, 3, size=(320, 192)), "video"),
        "wav": (sample_media.audio_bytes("layer", 4, 2.0, "wav"), "audio"),
        "mp3": (sample_media.audio_bytes("layer", 5, 2.0, "mp3"), "audio"),
    }
    cases = {}
    for ext, (data, kind) in files.items():
        path = d / f"original.{ext}"
        path.write_bytes(data)
        cases[ext] = (str(path), kind, str(d / f"thumbnail-{ext}.jpg"))
    return cases


def test_the_layer_alone_probes_and_thumbnails_every_kind(unpacked, samples):
    done = subprocess.run(
        [lambda_python(), "-I", "-S", "-c", CHECK, str(unpacked / "task"),
         str(unpacked / "opt" / "python"), json.dumps(samples)],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["outside"] == [], "media libraries loaded from outside the layer"
    assert report["results"] == {
        "png": {"ext": "png", "duration": None, "width": 640},
        "jpg": {"ext": "jpg", "duration": None, "width": 640},
        "mp4": {"ext": "mp4", "duration": 2.0, "width": 320},
        "wav": {"ext": "wav", "duration": 2.0, "width": None},
        "mp3": {"ext": "mp3", "duration": 2.0, "width": None},
    }
    for _, _, thumbnail in samples.values():
        assert Path(thumbnail).read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG


# Lambda's python3.13 runs on Amazon Linux 2023, whose glibc is 2.34.
AL2023_GLIBC_MINOR = 34


def test_every_wheel_in_the_layer_is_for_cpython_313_on_amazon_linux_2023():
    """Built for CPython 3.13 (its own ABI, or the stable ABI of an earlier 3.x) and a
    manylinux no newer than AL2023's glibc: nothing pip would refuse there."""
    from packaging.tags import compatible_tags, cpython_tags, parse_tag
    platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(AL2023_GLIBC_MINOR, 16, -1)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    supported = set(cpython_tags((3, 13), platforms=platforms))
    supported |= set(compatible_tags((3, 13), "cp313", platforms))
    with zipfile.ZipFile(LAYER_ZIP) as zf:
        wheels = {info.filename.split("/")[1]: zf.read(info).decode()
                  for info in zf.infolist() if info.filename.endswith(".dist-info/WHEEL")}
    assert {name.split("-")[0].lower() for name in wheels} >= {"av", "numpy", "pillow"}
    for name, text in wheels.items():
        tags = {t for line in text.splitlines() if line.startswith("Tag: ")
                for t in parse_tag(line[5:].strip())}
        assert tags & supported, f"{name}: {sorted(map(str, tags))}"


def test_function_and_layer_fit_lambdas_unzipped_limit():
    """Lambda refuses a function whose code and layers unzip to more than 250 MB."""
    def unzipped(path):
        with zipfile.ZipFile(path) as zf:
            return sum(info.file_size for info in zf.infolist())
    total = unzipped(FUNCTION_ZIP) + unzipped(LAYER_ZIP)
    assert total < 250 * 2**20, f"{total / 2**20:.0f} MiB"


# Runs in the clean interpreter as Lambda would: a read-only /var/task, so whatever
# it imports without shipped bytecode it compiles on every cold start.
LOADS_FROM_BYTECODE = r"""
import importlib.machinery, json, sys
task, layer = sys.argv[1], sys.argv[2]
sys.path[:0] = [task, layer]
sys.dont_write_bytecode = True
compiled = []
original = importlib.machinery.SourceFileLoader.source_to_code
def source_to_code(self, data, path, *args, **kwargs):
    compiled.append(path)
    return original(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = source_to_code
import os
os.environ["VSL_STAGE"] = "local"
import app
from chalicelib import media
import av, numpy, PIL.Image
print(json.dumps(compiled))
"""


def test_every_module_loads_from_the_bytecode_it_ships_with(unpacked):
    """The API's and the media functions' imports, ours and the libraries', read the
    .pyc in the zips: nothing is compiled at a cold start."""
    done = subprocess.run(
        [lambda_python(), "-I", "-S", "-c", LOADS_FROM_BYTECODE, str(unpacked / "task"),
         str(unpacked / "opt" / "python")],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert done.returncode == 0, done.stderr[-3000:]
    compiled = [p for p in json.loads(done.stdout)
                if p.startswith((str(unpacked / "task"), str(unpacked / "opt")))]
    assert compiled == []


def test_the_layer_zip_has_fixed_times_and_order():
    with zipfile.ZipFile(LAYER_ZIP) as zf:
        infos = zf.infolist()
    assert {info.date_time for info in infos} == {ZIP_TIME}
    names = [info.filename for info in infos]
    assert names == sorted(names) and all(n.startswith("python/") for n in names)


def test_the_same_files_zip_to_the_same_bytes(tmp_path):
    """The layer's own files, copied anew (new times, another creation order),
    zip to exactly build/media-layer.zip."""
    staging = BUILD / "media-layer"
    assert staging.is_dir(), f"{staging} is missing: run `make package`"
    copy = tmp_path / "copy"
    shutil.copytree(staging, copy, copy_function=shutil.copy)  # shutil.copy: new mtimes
    out = tmp_path / "again.zip"
    write_reproducible_zip(copy, out)
    assert digest(out) == digest(LAYER_ZIP)


def test_zip_bytes_depend_on_content_not_on_times_or_creation_order(tmp_path):
    def tree(root, order, mtime):
        for name in order:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(name * 3)
            if name.endswith(".so"):
                path.chmod(0o755)
            os.utime(path, (mtime, mtime))
        return root
    names = ["python/b/lib.so", "python/a.py", "python/b/__init__.py"]
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    write_reproducible_zip(tree(tmp_path / "x", names, 1_000_000_000), first)
    write_reproducible_zip(tree(tmp_path / "y", names[::-1], 1_700_000_000), second)
    assert digest(first) == digest(second)
    with zipfile.ZipFile(first) as zf:
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    assert modes == {"python/a.py": 0o644, "python/b/__init__.py": 0o644,
                     "python/b/lib.so": 0o755,
                     "python/__pycache__/a.cpython-313.pyc": 0o644,
                     "python/b/__pycache__/__init__.cpython-313.pyc": 0o644}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
