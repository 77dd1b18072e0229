"""/sweeps: the paper's experiment grid as one request, its report and its figure (issue 10)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response, status
from sqlalchemy.orm import Session

from api.deps import CurrentOwner, QueueDep, SessionDep, SettingsDep, in_thread, services
from api.errors import error_doc
from api.pagination import decode_cursor, encode_cursor
from api.schemas import sweep_examples
from api.schemas.sweep_preview import SweepPreview
from api.schemas.sweep_report import SweepReport
from api.schemas.sweeps import (
    PresetList,
    SweepPage,
    SweepRequest,
    SweepView,
    preset_list,
    sweep_view,
)
from api.schemas.text import PlainText
from api.submission.sweep_preview import preview_sweep
from api.submission.sweep_submission import submit_sweep
from core.store.sweeps import (
    cancel_sweep,
    children_histories,
    get_sweep,
    list_sweeps,
    sweep_children,
)
from core.store.tables import Owner, Sweep
from core.sweeps.figure import FORMATS, draw_figure
from core.sweeps.presets import presets
from core.sweeps.sweep_report import ChildRun, build_report, to_csv, to_markdown
from core.vocabulary import ErrorCode

router = APIRouter(prefix="/sweeps", tags=["sweeps"])

BINARY = {"type": "string", "format": "binary"}  # image bytes, for generated clients (issue 18)
SweepId = Annotated[uuid.UUID, Path(description="the sweep's id, as POST /sweeps returned it")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: error_doc("no such sweep among yours", ErrorCode.not_found, "no sweep ...")
}


def view_of(session: Session, sweep: Sweep) -> SweepView:
    return sweep_view(sweep, sweep_children(session=session, sweep_id=sweep.id))


def _runs(session: Session, sweep: Sweep) -> list[ChildRun]:
    children = sweep_children(session=session, sweep_id=sweep.id)
    histories = children_histories(session=session, job_ids=[job.id for job in children])
    return [
        ChildRun(
            point=job.sweep_point or {},
            spec=job.spec,
            status=job.status.value,
            train_error=[1 - r.train_accuracy for r in histories[job.id]],
            test_error=[1 - r.test_accuracy for r in histories[job.id]],
            validation_error=[
                1 - r.validation_accuracy
                for r in histories[job.id]
                if r.validation_accuracy is not None
            ],
        )
        for job in children
    ]


def _references(sweep: Sweep) -> tuple[str, ...]:
    """The preset's sources, else every source (the first that reports a network wins)."""
    if sweep.preset in presets():
        return presets()[sweep.preset].references
    return ("he2016", "he2016-fig6", "seed002-keras", "a-martyn", "akamaster")


@router.post(
    "",
    summary="Submit a sweep",
    response_model=SweepView | SweepPreview,
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"model": SweepView, "description": "the sweep, its children queued"},
        200: {
            "model": SweepView | SweepPreview,
            "description": "the sweep an earlier request with this Idempotency-Key created; "
            "with dry_run=true, the children it would make and their estimate (a SweepPreview)",
        },
        422: error_doc(
            "a child is invalid (named by its grid values), the grid is too large, or the "
            "preset is unknown",
            ErrorCode.validation_error,
            'depth: child {"depth": 21}: depth must be 6n+2 ...',
        ),
        429: error_doc(
            "too many of your jobs or sweeps are queued, or (code `compute_budget_exceeded`) "
            "the children would take your queued and running work past COMPUTE_BUDGET_FLOPS",
            ErrorCode.quota_exceeded,
            "...",
        ),
    },
)
async def create(
    request: Annotated[SweepRequest, Body(openapi_examples=sweep_examples.REQUESTS)],
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
    response: Response,
    http: Request,
    idempotency_key: Annotated[
        PlainText | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
    ] = None,
    dry_run: Annotated[
        bool,
        Query(description="answer the children and their estimate, and create nothing"),
    ] = False,
) -> SweepView | SweepPreview:
    """Create every child job of a grid, search or preset in one transaction, queued at once.

    A preset narrows: a grid field its configurations set (`"grid": {"depth": [20, 56]}`)
    selects those configurations instead of crossing them; children identical in spec and seed
    are refused."""
    if dry_run:
        response.status_code = status.HTTP_200_OK
        return await in_thread(session, preview_sweep, settings, owner, request)
    sweep, created = await submit_sweep(
        sessions=services(http).sessions,
        settings=settings,
        queue=queue,
        owner=owner,
        request=request,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    sweep_again = await in_thread(session, reload_sweep, owner, sweep.id)
    return await in_thread(session, view_of, sweep_again)


def reload_sweep(session: Session, owner: Owner, sweep_id: uuid.UUID) -> Sweep:
    return get_sweep(session=session, owner_id=owner.id, sweep_id=sweep_id)


@router.get("/presets", summary="List the presets", response_model=PresetList)
async def presets_list() -> PresetList:
    """The named sweeps and what they expand to (each configuration runs once per seed)."""
    return preset_list()


@router.get("", summary="List your sweeps", response_model=SweepPage)
async def list_(
    owner: CurrentOwner,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> SweepPage:
    """Your sweeps, newest first, with their children's status."""
    before = decode_cursor(cursor) if cursor is not None else None

    def page(session: Session) -> SweepPage:
        sweeps = list_sweeps(session=session, owner_id=owner.id, limit=limit + 1, before=before)
        more = len(sweeps) > limit
        sweeps = sweeps[:limit]
        last = sweeps[-1] if more and sweeps else None
        return SweepPage(
            sweeps=[view_of(session, s) for s in sweeps],
            next_cursor=encode_cursor(last.created_at, last.id) if last else None,
        )

    return await in_thread(session, page)


@router.get("/{sweep_id}", summary="Read a sweep", response_model=SweepView, responses=NOT_FOUND)
async def read(sweep_id: SweepId, owner: CurrentOwner, session: SessionDep) -> SweepView:
    """Counts by status, progress, and every child with its grid values and final error."""

    def view(session: Session) -> SweepView:
        return view_of(session, reload_sweep(session, owner, sweep_id))

    return await in_thread(session, view)


@router.post(
    "/{sweep_id}/cancel", summary="Cancel a sweep", response_model=SweepView, responses=NOT_FOUND
)
async def cancel(sweep_id: SweepId, owner: CurrentOwner, session: SessionDep) -> SweepView:
    """Cancel every child not yet finished (queued ones never run; running ones stop)."""

    def work(session: Session) -> SweepView:
        sweep = reload_sweep(session, owner, sweep_id)
        cancel_sweep(session=session, sweep=sweep)
        return view_of(session, sweep)

    return await in_thread(session, work)


@router.get(
    "/{sweep_id}/report",
    summary="The reproduction report",
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {
            "model": SweepReport,
            "content": sweep_examples.REPORT_CONTENT,
            "description": "one row per configuration, beside the published numbers",
        },
    },
)
async def report(
    sweep_id: SweepId,
    owner: CurrentOwner,
    session: SessionDep,
    format: Annotated[Literal["json", "md", "csv"], Query()] = "json",
) -> Response:
    """Per configuration: runs finished, final test error mean ± sd, min, max, best-on-test
    mean, the published number and its source, and the per-epoch mean curves."""

    def build(session: Session) -> dict[str, Any]:
        sweep = reload_sweep(session, owner, sweep_id)
        result = build_report(_runs(session, sweep), references=_references(sweep))
        return {"sweep_id": str(sweep.id), "name": sweep.name, "preset": sweep.preset, **result}

    body = await in_thread(session, build)
    # Tables a person saves come with a file name: curl -OJ, a browser's download.
    saved = {"Content-Disposition": f'attachment; filename="sweep-{sweep_id}-report.{format}"'}
    if format == "md":
        text = to_markdown(body)
        return Response(text, media_type="text/markdown; charset=utf-8", headers=saved)
    if format == "csv":
        return Response(to_csv(body), media_type="text/csv; charset=utf-8", headers=saved)
    # Through the typed model, so the JSON is what the schema promises (issue 18).
    typed = SweepReport.model_validate(body)
    return Response(typed.model_dump_json(), media_type="application/json")


@router.get(
    "/{sweep_id}/figure",
    summary="Figure 6 of the sweep",
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {
            "description": "the figure, PNG or SVG as `format` asks",
            "content": {media: {"schema": BINARY} for media in FORMATS.values()},
        },
    },
)
async def figure(
    sweep_id: SweepId,
    owner: CurrentOwner,
    session: SessionDep,
    format: Annotated[Literal["png", "svg"], Query()] = "png",
) -> Response:
    """Error in % (the paper's unit) against epochs, one panel per architecture, train dashed
    and test solid, one colour per depth, mean over seeds with a band for their spread."""

    def draw(session: Session) -> bytes:
        sweep = reload_sweep(session, owner, sweep_id)
        runs = _runs(session, sweep)
        result = build_report(runs, references=_references(sweep))
        name = sweep.name or sweep.preset or f"sweep {str(sweep.id)[:8]}"
        return draw_figure(result, runs, fmt=format, name=name)

    drawn = await in_thread(session, draw)
    # inline: shown where it is opened, saved under this name.
    named = {"Content-Disposition": f'inline; filename="sweep-{sweep_id}-figure6.{format}"'}
    return Response(drawn, media_type=FORMATS[format], headers=named)
