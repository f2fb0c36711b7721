"""Admin for jobs, derived assets and model weights, plus processing ACTIONS on the
Panorama and Project lists of the annotations admin.

Every job kind registered with an ``admin_form`` (see :mod:`inference.registry`) gets an
action "<label>" on the lists named in its ``admin_targets``: an intermediate page shows
the form, then one job per panorama (or per selection) is submitted and a message links to
them. The actions are attached to the already registered annotations ModelAdmins by
:func:`attach_job_actions` — no edit of annotations/admin.py is needed.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from annotations.models import Panorama, Project

from .models import DerivedAsset, Job, ModelWeights
from .registry import JobKind, ParamsError, all_kinds
from .services import DuplicateJob, cancel_job, retry_job

#: a job's change page shows at most this many preview pictures
MAX_ADMIN_PREVIEWS = 8


def _is_picture(asset: DerivedAsset) -> bool:
    """Before/after previews and masks: small JPEG/PNG files made to be looked at."""
    name = asset.file.name.lower()
    small = asset.kind.endswith(("_preview", "_mask")) or asset.kind in ("thumbnail",)
    return small and name.endswith((".jpg", ".jpeg", ".png"))


def _pictures(assets) -> str:
    return format_html_join(
        "",
        '<figure style="display:inline-block;margin:0 12px 12px 0">'
        '<img src="{}" alt="{}" style="max-width:640px;max-height:320px;display:block">'
        "<figcaption>{}</figcaption></figure>",
        (
            (
                reverse("derived-asset-file", kwargs={"pk": a.pk}),
                a.kind,
                f"{a.kind} (panorama {a.panorama_id})",
            )
            for a in assets
        ),
    )


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "project", "status", "progress_bar", "message", "attempts",
                    "requester", "created_at", "finished_at"]  # fmt: skip
    list_filter = ["status", "kind", "project"]
    search_fields = ["kind", "message", "error"]
    readonly_fields = ["progress_bar", "asset_links", "before_after", "celery_task_id",
                       "attempts", "dedupe_key", "created_at", "started_at", "finished_at",
                       "result", "error"]  # fmt: skip
    filter_horizontal = ["panoramas"]
    actions = ["cancel_selected", "retry_selected"]

    @admin.display(description="progress")
    def progress_bar(self, job: Job):
        colour = {"failed": "#c0392b", "cancelled": "#999", "succeeded": "#27ae60"}.get(
            job.status, "#2980b9"
        )
        return format_html(
            '<div style="width:120px;background:#eee;border-radius:3px">'
            '<div style="width:{}%;background:{};height:10px;border-radius:3px"></div></div>'
            "{}%",
            round(job.progress * 100),
            colour,
            round(job.progress * 100),
        )

    @admin.display(description="results")
    def asset_links(self, job: Job):
        links = [
            (
                reverse("derived-asset-file", kwargs={"pk": a.pk}),
                f"{a.kind} (panorama {a.panorama_id})",
            )
            for a in job.assets.all()
        ]
        return format_html_join(", ", '<a href="{}">{}</a>', links) or "—"

    @admin.display(description="before / after")
    def before_after(self, job: Job):
        """The job's preview pictures (``*_preview`` assets: before | after side by side)."""
        previews = [a for a in job.assets.all() if _is_picture(a)][:MAX_ADMIN_PREVIEWS]
        return _pictures(previews) or "—"

    @admin.action(description="Cancel selected jobs")
    def cancel_selected(self, request, queryset):
        done = 0
        for job in queryset:
            try:
                cancel_job(job)
                done += 1
            except ValueError:
                pass
        self.message_user(request, f"Cancel requested for {done} job(s).")

    @admin.action(description="Retry selected jobs")
    def retry_selected(self, request, queryset):
        done = 0
        for job in queryset:
            try:
                retry_job(job)
                done += 1
            except (ValueError, DuplicateJob):
                pass
        self.message_user(request, f"Queued {done} job(s) again.")


@admin.register(DerivedAsset)
class DerivedAssetAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "panorama",
        "kind",
        "version",
        "size_bytes",
        "job",
        "created_at",
        "download",
    ]
    list_filter = ["kind"]
    raw_id_fields = ["panorama", "job"]
    readonly_fields = ["picture"]

    @admin.display(description="picture")
    def picture(self, asset: DerivedAsset):
        return _pictures([asset]) if _is_picture(asset) else "—"

    @admin.display(description="file")
    def download(self, asset: DerivedAsset):
        return format_html(
            '<a href="{}">download</a>', reverse("derived-asset-file", kwargs={"pk": asset.pk})
        )


@admin.register(ModelWeights)
class ModelWeightsAdmin(admin.ModelAdmin):
    """Upload form: saving loads the file and runs it once against its task's contract."""

    list_display = ["name", "task", "format", "version", "project", "input_size", "output",
                    "created_at"]  # fmt: skip
    list_filter = ["task", "format"]
    search_fields = ["name"]
    readonly_fields = ["format", "contract", "validation", "provenance"]
    raw_id_fields = ["project"]


def _panoramas_of(queryset) -> list[Panorama]:
    if queryset.model is Project:
        return list(Panorama.objects.filter(project__in=queryset).order_by("project", "id"))
    return list(queryset.order_by("project", "id"))


def make_job_action(kind: JobKind):
    """An admin action that asks for ``kind``'s params and submits jobs."""

    def action(modeladmin, request, queryset):
        form_class = kind.admin_form
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                params = form.to_params() if hasattr(form, "to_params") else dict(form.cleaned_data)
                return _submit_from_admin(modeladmin, request, queryset, kind, params)
        else:
            form = form_class()
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": kind.label,
            "kind": kind,
            "form": form,
            "queryset": queryset,
            "count": queryset.count(),
            "opts": modeladmin.model._meta,
            "action_name": f"run_job_{kind.name}",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
        }
        return TemplateResponse(request, "admin/inference/job_params.html", context)

    action.__name__ = f"run_job_{kind.name}"
    action.short_description = kind.label
    return action


def _submit_from_admin(modeladmin, request, queryset, kind: JobKind, params: dict):
    from .kind_forms import submit_for_targets

    panoramas = _panoramas_of(queryset)
    created, duplicates, errors = [], [], []
    if panoramas:
        try:
            created, duplicates = submit_for_targets(
                kind, request.user, panoramas[0].project, panoramas, params
            )
        except ParamsError as exc:
            errors.append(str(exc))
    if errors:
        modeladmin.message_user(request, f"{kind.label}: {errors[0]}", messages.ERROR)
        return None
    ids = ",".join(str(j.pk) for j in created + duplicates)
    url = reverse("admin:inference_job_changelist") + f"?id__in={ids}"
    modeladmin.message_user(
        request,
        format_html(
            '{}: {} job(s) queued, {} already queued or running. <a href="{}">Show the jobs</a>',
            kind.label,
            len(created),
            len(duplicates),
            url,
        ),
        messages.SUCCESS,
    )
    return None


def attach_job_actions(site: admin.AdminSite = admin.site) -> None:
    """Add one action per job kind with an admin form to the Panorama and Project admins."""
    targets = {"panorama": Panorama, "project": Project}
    for kind in all_kinds():
        if kind.admin_form is None:
            continue
        for target in kind.admin_targets:
            model_admin = site._registry.get(targets[target])
            if model_admin is None:
                continue
            action = make_job_action(kind)
            current = list(model_admin.actions or [])
            if not any(getattr(a, "__name__", a) == action.__name__ for a in current):
                model_admin.actions = [*current, action]
