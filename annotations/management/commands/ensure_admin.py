"""Create (or keep) the admin account; credentials from the environment or printed."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Ensure an admin (superuser) exists. Uses LABEL360_ADMIN_USER / LABEL360_ADMIN_PASSWORD."

    def handle(self, *args, **options):
        User = get_user_model()
        username = os.environ.get("LABEL360_ADMIN_USER", "admin")
        password = os.environ.get("LABEL360_ADMIN_PASSWORD")
        user = User.objects.filter(username=username).first()
        if user is not None and not password:
            self.stdout.write(f"Admin account '{username}' exists (password unchanged).")
            return
        generated = password is None
        password = password or secrets.token_urlsafe(9)
        if user is None:
            user = User.objects.create_superuser(username=username, email="", password=password)
        else:
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
        note = " (generated; set LABEL360_ADMIN_PASSWORD to choose)" if generated else ""
        self.stdout.write(self.style.SUCCESS(f"Admin account: {username} / {password}{note}"))
