"""What ``check_sampler`` returns: the checks, the overall verdict, the failing checks, HTML."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConformanceReport"]


# ----------------------------------------------------------------------------- results
@dataclass
class ConformanceReport:
    """What ``check_sampler`` returns: the checks, the overall verdict and the failing checks."""

    name: str
    convention: str
    method: str | None
    knobs: dict
    checks: dict

    @property
    def failed(self) -> list[str]:
        """Names of the checks whose verdict is ``fails`` (the checks that caught a problem)."""
        return [n for n, c in self.checks.items() if c.verdict == "fails"]

    @property
    def verdict(self) -> str:
        v = [c.verdict for c in self.checks.values()]
        if "fails" in v:
            return "fails"
        return "inconclusive" if "inconclusive" in v or "holds" not in v else "holds"

    def summary(self) -> str:
        lines = [f"{self.name} [{self.convention}, {self.method}, {self.knobs}]: {self.verdict}"]
        lines += [f"  {n}: {c.verdict} - {c.reason}" for n, c in self.checks.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The report as HTML in a notebook: one row per check, then each check's table."""
        import html

        e = lambda x: html.escape(str(x), quote=True)  # noqa: E731
        colour = {"holds": "#1a7f37", "fails": "#cf222e", "inconclusive": "#9a6700"}

        def badge(v):
            c = colour.get(v, "#59636e")
            style = f"background:{c};color:#fff;padding:0 7px;border-radius:9px"
            return f'<span style="{style}">{e(v)}</span>'

        def cell(v):
            return e(f"{v:.4g}") if isinstance(v, float) else e(v)

        knobs = ", ".join(f"{k}={v}" for k, v in self.knobs.items()) or "no knobs"
        out = [
            f"<div><h4 style='margin:4px 0'>{e(self.name)} [{e(self.convention)}, "
            f"{e(self.method)}, {e(knobs)}]: {badge(self.verdict)}</h4>",
            "<table><tr><th>check</th><th>verdict</th><th>numbers</th></tr>",
        ]
        out += [
            f"<tr><td>{e(n)}</td><td>{badge(c.verdict)}</td><td>{e(c.reason)}</td></tr>"
            for n, c in self.checks.items()
        ]
        out.append("</table>")
        for n, c in self.checks.items():
            if c.columns and c.rows:
                head = "".join(f"<th>{e(col)}</th>" for col in c.columns)
                body = "".join(
                    "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in c.rows
                )
                out.append(
                    f"<details><summary>{e(n)}</summary><table><tr>{head}</tr>{body}</table>"
                    "</details>"
                )
        return "".join(out) + "</div>"

    def assert_ok(self) -> None:
        """Raise ``AssertionError`` with the summary unless the verdict is ``holds``."""
        if self.verdict != "holds":
            raise AssertionError(self.summary())
