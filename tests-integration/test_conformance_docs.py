"""The conformance documentation lists exactly the cases the suites run.

If a case is added or renamed, regenerate the list with
`uv run python tests-integration/test_conformance_docs.py`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from queuert.conformance import notify_adapter_cases, state_adapter_cases, validation_adapter_cases

if TYPE_CHECKING:
    from collections.abc import Sequence

    from queuert.conformance import Case

DOCS = Path(__file__).resolve().parent.parent / "docs" / "adapters"
CASES_PAGE = DOCS / "conformance.md"
MARKER = "## Every case\n"


def _render_suite(title: str, cases: Sequence[Case[Any]]) -> str:
    groups: dict[str, list[Case[Any]]] = {}
    for case in cases:
        groups.setdefault(case.group, []).append(case)
    upstream = sum(case.upstream for case in cases)
    lines = [
        f"### {title} ({len(cases)})",
        "",
        f"{upstream} cases from upstream's list, {len(cases) - upstream} added, in {len(groups)} groups.",
        "",
    ]
    for group, members in groups.items():
        lines += [f"#### {group} ({len(members)})", ""]
        lines += [f"{i}. {case.name}{'' if case.upstream else ' *(added)*'}" for i, case in enumerate(members, 1)]
        lines.append("")
    return "\n".join(lines)


def render_case_list() -> str:
    suites = [
        _render_suite("State adapter", state_adapter_cases()),
        _render_suite("Notify adapter", notify_adapter_cases()),
        _render_suite("Validation adapter", validation_adapter_cases()),
    ]
    return MARKER + "\n" + "\n".join(suites).rstrip("\n") + "\n"


def test_case_page_lists_every_case_in_order() -> None:
    text = CASES_PAGE.read_text(encoding="utf-8")
    assert MARKER in text
    documented = text[text.index(MARKER) :]
    assert documented == render_case_list(), (
        "docs/adapters/conformance.md is out of date: uv run python tests-integration/test_conformance_docs.py"
    )


def test_writing_an_adapter_gives_the_current_case_counts() -> None:
    text = (DOCS / "writing-an-adapter.md").read_text(encoding="utf-8")
    counts = {
        suite: int(count)
        for suite, count in re.findall(r"^\| (state|notify|validation) adapter \| (\d+) \|", text, re.M)
    }
    assert counts == {
        "state": len(state_adapter_cases()),
        "notify": len(notify_adapter_cases()),
        "validation": len(validation_adapter_cases()),
    }


if __name__ == "__main__":
    page = CASES_PAGE.read_text(encoding="utf-8")
    CASES_PAGE.write_text(page[: page.index(MARKER)] + render_case_list(), encoding="utf-8")
