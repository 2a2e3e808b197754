"""Signals master data sends for whoever keeps copies of it.

``master_changed`` goes out inside the writing transaction after a bulk write that
Django's ``post_save`` does not see (``import_master``), with the primary keys of the
families and streams written. Planning keeps each open cycle's master copy in step
with it (``planning.services.cycle_master``); master data need not know that.
"""

from django.dispatch import Signal

# kwargs: family_ids (list[int]), stream_ids (list[int])
master_changed = Signal()
