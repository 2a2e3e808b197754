from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _master_saved(sender, instance, raw: bool = False, **_: object) -> None:
    """A family or stream saved one by one (admin, API, shell): open cycles follow."""
    if raw:
        return
    from planning.services.cycle_master import cycle_masters_sync
    from valuestreams.models import ProductFamily

    if sender is ProductFamily:
        cycle_masters_sync(family_ids=[instance.pk])
    else:
        cycle_masters_sync(stream_ids=[instance.pk])


def _master_changed(sender, family_ids=(), stream_ids=(), **_: object) -> None:
    from planning.services.cycle_master import cycle_masters_sync

    cycle_masters_sync(family_ids=family_ids, stream_ids=stream_ids)


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Planning"

    def ready(self) -> None:
        # Cache invalidation: the company's settings are read from the cache on every
        # request.
        from planning.models import Company
        from planning.selectors.cycles import company_cache_clear
        from valuestreams.models import ProductFamily, ValueStream
        from valuestreams.signals import master_changed

        for signal in (post_save, post_delete):
            signal.connect(company_cache_clear, sender=Company, dispatch_uid=f"company-{signal}")
        # Master data belongs to the cycle: every master write reaches the copies of the
        # cycles that are not frozen, in the same transaction (frozen ones never change).
        for model in (ProductFamily, ValueStream):
            post_save.connect(_master_saved, sender=model, dispatch_uid=f"master-{model.__name__}")
        master_changed.connect(_master_changed, dispatch_uid="master-changed")
