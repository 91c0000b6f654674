"""Static typing tests: run mypy (strict, the repository's configuration) over `tests/typing/`.

- `pass_*.py` files must type-check without a single error.
- In `fail_*.py` files, every line that must be rejected ends with `# E: <code>` (several codes:
  `# E: arg-type, call-arg`). Each such line must get errors with exactly those codes, and no
  other line may get any error.

The files are never executed. mypy runs once for all of them (select with `-k typing`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from mypy import api as mypy_api

TYPING_DIR = Path(__file__).resolve().parent / "typing"
PASS_FILES = sorted(TYPING_DIR.glob("pass_*.py"))
FAIL_FILES = sorted(TYPING_DIR.glob("fail_*.py"))

_EXPECTATION = re.compile(r"#\s*E:\s*(?P<codes>[a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)\s*$")
_MYPY_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+): (?P<severity>error|note): (?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)


def _workspace_root() -> Path:
    for directory in TYPING_DIR.parents:
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "[tool.uv.workspace]" in pyproject.read_text(encoding="utf-8"):
            return directory
    raise RuntimeError("cannot find the workspace root (a pyproject.toml with [tool.uv.workspace])")


@dataclass(frozen=True)
class MypyError:
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


@dataclass(frozen=True)
class MypyRun:
    errors: dict[Path, list[MypyError]]
    report: str


@pytest.fixture(scope="module")
def mypy_run() -> MypyRun:
    root = _workspace_root()
    files = [str(path) for path in (*PASS_FILES, *FAIL_FILES)]
    stdout, stderr, status = mypy_api.run(
        [
            *files,
            "--config-file",
            str(root / "pyproject.toml"),
            "--strict",
            # Shared with the repository-wide mypy run, so the source tree is analysed once.
            "--cache-dir",
            str(root / ".mypy_cache"),
            "--show-absolute-path",
            "--show-error-codes",
            "--no-pretty",
            "--no-color-output",
            "--no-error-summary",
            "--hide-error-context",
        ]
    )
    if status not in (0, 1):
        pytest.fail(f"mypy did not run (exit status {status}):\n{stderr}\n{stdout}")
    errors: dict[Path, list[MypyError]] = defaultdict(list)
    for raw in stdout.splitlines():
        match = _MYPY_LINE.match(raw)
        if match is None or match["severity"] != "error":
            continue
        errors[Path(match["path"]).resolve()].append(
            MypyError(line=int(match["line"]), code=match["code"] or "(no code)", message=match["message"])
        )
    return MypyRun(errors=dict(errors), report=stdout + stderr)


def _expectations(path: Path) -> dict[int, set[str]]:
    expected: dict[int, set[str]] = {}
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _EXPECTATION.search(text)
        if match is not None:
            expected[number] = {code.strip() for code in match["codes"].split(",")}
    return expected


def test_typing_files_exist() -> None:
    assert PASS_FILES, f"no pass_*.py files under {TYPING_DIR}"
    assert FAIL_FILES, f"no fail_*.py files under {TYPING_DIR}"
    for path in FAIL_FILES:
        assert _expectations(path), f"{path.name} has no '# E: <code>' line, so it can never fail"


@pytest.mark.parametrize("path", PASS_FILES, ids=[path.name for path in PASS_FILES])
def test_typing_pass_file(path: Path, mypy_run: MypyRun) -> None:
    errors = mypy_run.errors.get(path, [])
    assert not errors, f"{path.name} must type-check cleanly, but mypy reported:\n" + "\n".join(
        f"  {path.name}:{error.line}: {error}" for error in errors
    )


@pytest.mark.parametrize("path", FAIL_FILES, ids=[path.name for path in FAIL_FILES])
def test_typing_fail_file(path: Path, mypy_run: MypyRun) -> None:
    expected = _expectations(path)
    actual: dict[int, list[MypyError]] = defaultdict(list)
    for error in mypy_run.errors.get(path, []):
        actual[error.line].append(error)
    mismatches = []
    for line in sorted(set(expected) | set(actual)):
        wanted = expected.get(line, set())
        got = {error.code for error in actual.get(line, [])}
        if wanted != got:
            reported = "; ".join(str(error) for error in actual.get(line, [])) or "no error"
            mismatches.append(f"  {path.name}:{line}: expected {sorted(wanted) or 'no error'}, mypy gave {reported}")
    assert not mismatches, "mypy's errors do not match the '# E:' comments:\n" + "\n".join(mismatches)


def test_typing_no_errors_elsewhere(mypy_run: MypyRun) -> None:
    checked = {*PASS_FILES, *FAIL_FILES}
    elsewhere = {path: errors for path, errors in mypy_run.errors.items() if path not in checked}
    assert not elsewhere, "mypy reported errors outside the typing test files:\n" + "\n".join(
        f"  {path}:{error.line}: {error}" for path, errors in elsewhere.items() for error in errors
    )
