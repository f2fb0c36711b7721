"""Job kinds as the browser sees them: each kind registered with an ``admin_form`` becomes a
parameter form (a JSON description of the form's fields), and a filled-in form becomes jobs
on selected panoramas or a whole project — the same params and grouping as the admin action,
so a kind added by any module appears in the processing panel without UI changes.
"""

from __future__ import annotations

from django import forms

from .registry import JobKind, ParamsError, all_kinds
from .services import DuplicateJob, submit_job

#: Most choices listed for one field (a model-choice field over a big table is cut here).
MAX_CHOICES = 500
#: Most panoramas one request may target.
MAX_TARGETS = 10_000


def _json_value(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def field_schema(name: str, field: forms.Field) -> dict:
    """One form field as {name, label, type, required, initial, help, min, max, choices}."""
    initial = field.initial() if callable(field.initial) else field.initial
    entry = {
        "name": name,
        "label": str(field.label or name.replace("_", " ").capitalize()),
        "required": bool(field.required),
        "initial": _json_value(initial),
        "help": str(field.help_text or ""),
    }
    if isinstance(field, forms.BooleanField):
        entry["type"] = "bool"
        entry["required"] = False  # an unchecked box is False, never missing
    elif isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        entry["type"] = "choice"
        choices = []
        for value, label in field.choices:
            if len(choices) >= MAX_CHOICES:
                break
            choices.append(["" if value in (None, "") else str(value), str(label)])
        entry["choices"] = choices
    elif isinstance(field, forms.IntegerField):
        entry.update(type="int", min=field.min_value, max=field.max_value)
    elif isinstance(field, forms.FloatField | forms.DecimalField):
        entry.update(
            type="float", min=_json_value(field.min_value), max=_json_value(field.max_value)
        )
    else:
        entry["type"] = "str"
    return entry


def kind_schema(kind: JobKind) -> dict:
    form = kind.admin_form()
    return {
        "name": kind.name,
        "label": kind.label,
        "description": kind.description,
        "queue": kind.queue,
        "per_panorama": kind.per_panorama,
        "targets": list(kind.admin_targets),
        "fields": [field_schema(name, field) for name, field in form.fields.items()],
    }


def startable_kinds(staff: bool) -> list[JobKind]:
    """Kinds a user may start from the browser: those with a parameter form."""
    return [
        k
        for k in all_kinds()
        if k.admin_form is not None and k.admin_targets and (staff or not k.staff_only)
    ]


def params_from_form(kind: JobKind, data: dict) -> dict:
    """Validate the filled-in form; raises ParamsError naming each bad field."""
    form = kind.admin_form(data)
    if not form.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in form.errors.items()
        )
        raise ParamsError(problems)
    # the kind's own validator runs in submit_job, as for the admin action
    return form.to_params() if hasattr(form, "to_params") else dict(form.cleaned_data)


def submit_for_targets(kind: JobKind, user, project, panoramas: list, params: dict):
    """Jobs of ``kind`` on ``panoramas`` (one per panorama for per-panorama kinds, else one for
    the selection). Returns (created jobs, already queued or running duplicates)."""
    groups = [[p] for p in panoramas] if kind.per_panorama else [panoramas]
    created, duplicates = [], []
    for group in groups:
        if kind.per_panorama and not group:
            continue
        try:
            # a selection may span projects (the admin lists): each job gets its panoramas' own
            target = group[0].project if group else project
            created.append(submit_job(kind.name, user, target, group, params))
        except DuplicateJob as dup:
            duplicates.append(dup.existing_job)
    return created, duplicates
