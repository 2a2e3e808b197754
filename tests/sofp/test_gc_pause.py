"""The collector pause of the bulk paths gives the collector back as it found it."""

from __future__ import annotations

import gc

import pytest

from sofp.gc_pause import collector_paused


def test_paused_inside_and_enabled_again_after_even_on_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: still paused when the inner block ends
            assert not gc.isenabled()
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
