"""The planning imports (targets, market volumes): a page that uploads a .csv or .xlsx file
to the API and shows its report: how many rows were created, revised or left as they were,
and each rejected row's problems in the user's words (`problems.row_note`), never the
API's English. Both APIs answer the same report (marketing's `ImportReport`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response

from . import core
from .problems import row_note


@dataclass(frozen=True)
class PlanImport:
    #: The page's template, which shows `report`, `rows`, `may_plan` and `problems`.
    template: str
    #: Where the file goes.
    api_path: str
    #: The file's columns and size limit (the API's), for the file-wide refusals' words.
    columns: tuple[str, ...]
    limit_mb: int

    def page(
        self,
        ui: core.Ui,
        *,
        may_plan: bool,
        report: dict[str, Any] | None = None,
        problems: core.Problems | None = None,
        status_code: int = 200,
    ) -> Response:
        return ui.render(
            self.template,
            status_code=status_code,
            report=report,
            rows=report_rows(ui, report) if report else [],
            columns=self.columns,
            may_plan=may_plan,
            problems=problems or core.Problems(),
        )

    async def upload(self, ui: core.Ui, *, may_plan: bool) -> Response:
        """Send the form's file; the page again with the report, or with why the file (as a
        whole) was refused at its field."""
        part = await core.upload_part(await ui.request.form(), "file")
        if part is None:
            problems = core.Problems(fields={"file": ui.t("err.missing")})
            return self.page(ui, may_plan=may_plan, problems=problems, status_code=422)
        result = await ui.api.call("POST", self.api_path, files={"file": part})
        if result.ok:
            return self.page(ui, may_plan=may_plan, report=result.data)
        problems = self.file_problems(ui, result)
        return self.page(ui, may_plan=may_plan, problems=problems, status_code=result.status)

    def file_problems(self, ui: core.Ui, result: core.ApiResult) -> core.Problems:
        """A file the API cannot read as a whole, at the file's field."""
        if result.status == 413:
            return core.Problems(fields={"file": ui.t("timport.err.too_large", mb=self.limit_mb)})
        body = result.data if isinstance(result.data, dict) else {}
        code, params = body.get("code"), body.get("params") or {}
        if result.status == 422 and not isinstance(result.detail, list):
            named = ", ".join(str(c) for c in params.get("columns") or [])
            if code == "file.missing_columns":
                message = ui.t("timport.err.lacks", columns=named)
            elif code == "file.unknown_columns":
                message = ui.t("timport.err.unknown", columns=named, known=", ".join(self.columns))
            else:
                message = ui.t("timport.err.unreadable", detail=core.problem_text(ui, result))
            return core.Problems(fields={"file": message})
        return core.problems_of(ui, result, ("file",))


def report_rows(ui: core.Ui, report: dict[str, Any]) -> list[dict[str, Any]]:
    """The rejected rows as the import pages' report table shows them (`_import_report.html`)."""
    return [
        {"row": r["row"], "outcome": "rejected", "note": row_note(ui.lang, r), "href": None}
        for r in sorted(report.get("rejected", []), key=lambda r: r["row"])
    ]
