from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Planning"

    def ready(self) -> None:
        # Cache invalidation only (no business logic): the company's settings are read
        # from the cache on every request.
        from planning.models import Company
        from planning.selectors.cycles import company_cache_clear

        for signal in (post_save, post_delete):
            signal.connect(company_cache_clear, sender=Company, dispatch_uid=f"company-{signal}")
