from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save


class SofpConfig(AppConfig):
    """The project's own plumbing: only signals that keep auth safe."""

    name = "sofp"
    verbose_name = "SOFP"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from sofp.auth import (
            tokens_revoke_on_password_change,
            user_cache_on_group_change,
            user_cache_on_groups_change,
            user_cache_on_user_change,
        )

        pre_save.connect(
            tokens_revoke_on_password_change,
            sender=get_user_model(),
            dispatch_uid="sofp-tokens-revoke-on-password-change",
        )
        # What sofp.auth keeps of a user is forgotten whenever it changes.
        user_model = get_user_model()
        for name, signal in (("saved", post_save), ("deleted", post_delete)):
            signal.connect(
                user_cache_on_user_change, sender=user_model, dispatch_uid=f"sofp-user-{name}"
            )
        m2m_changed.connect(
            user_cache_on_groups_change,
            sender=user_model.groups.through,
            dispatch_uid="sofp-user-cache-groups",
        )
        for name, signal in (("saved", post_save), ("deleted", pre_delete)):
            signal.connect(
                user_cache_on_group_change, sender=Group, dispatch_uid=f"sofp-group-{name}"
            )
