"""The web side of the embedded (SQLite + filesystem broker) setup, for a test: uploads
panoramas and saves annotations through the HTTP API, right after each upload, while a
worker's processes claim and run the thumbnail jobs in the same SQLite file.

Run as ``python -m tests.inference.embedded_web COUNT`` with the environment of that setup;
prints one JSON line: {"errors": [...], "saves": n, "uploads": n}.
"""

from __future__ import annotations

import json
import sys


def main(count: int) -> dict:
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from tests.factories import make_project, make_user, panorama_bytes, square_geometry

    admin = make_user("admin", staff=True)
    project = make_project("Embedded", {"manager": admin})
    label_class = project.classes.first()
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    errors, saves, uploads = [], 0, 0
    for k in range(count):
        upload = SimpleUploadedFile(f"p{k}.jpg", panorama_bytes(1024, 512, seed=k))
        response = client.post("/api/panoramas/", {"project": project.pk, "files": [upload]})
        if response.status_code != 201:
            errors.append(["upload", k, response.status_code, response.content[:300].decode()])
            continue
        uploads += 1
        created = response.json()["created"][0]
        revision = created["revision"]
        for j in range(3):  # the first save comes right after the upload, as in the UI
            body = {
                "revision": revision,
                "instances": [
                    {"label_class": label_class.pk, "geometry": square_geometry(10 * i, 5)}
                    for i in range(j + 1)
                ],
            }
            response = client.put(
                f"/api/panoramas/{created['id']}/instances/",
                json.dumps(body),
                content_type="application/json",
            )
            if response.status_code != 200:
                errors.append(["save", k, response.status_code, response.content[:300].decode()])
                break
            revision = response.json()["revision"]
            saves += 1
    return {"errors": errors, "saves": saves, "uploads": uploads}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
