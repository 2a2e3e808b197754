from django.apps import AppConfig
from django.db.models.signals import pre_save


class SofpConfig(AppConfig):
    """The project's own plumbing: only signals that keep auth safe."""

    name = "sofp"
    verbose_name = "SOFP"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from sofp.auth import tokens_revoke_on_password_change

        pre_save.connect(
            tokens_revoke_on_password_change,
            sender=get_user_model(),
            dispatch_uid="sofp-tokens-revoke-on-password-change",
        )
