import pytest

from planning.models import AuditEvent, CycleStatus, StepStatus
from planning.services.approval import StepsNotDone, cycle_approve
from sofp.errors import FrozenCycleError, PermissionDenied

pytestmark = pytest.mark.django_db


def _finish_steps(cycle, upto=4):
    cycle.steps.filter(number__lte=upto).update(status=StepStatus.DONE)


def test_executive_approves_when_steps_one_to_four_are_done(cycle, executive):
    _finish_steps(cycle)
    approved = cycle_approve(cycle=cycle, user=executive)
    assert approved.status == CycleStatus.APPROVED and approved.approved_by == executive
    assert approved.steps.get(number=5).status == StepStatus.DONE
    assert AuditEvent.objects.filter(cycle=cycle, action="approve", user=executive).exists()


def test_planner_cannot_approve(cycle, planner_a):
    _finish_steps(cycle)
    with pytest.raises(PermissionDenied):
        cycle_approve(cycle=cycle, user=planner_a)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.DRAFT


def test_open_steps_need_an_override_reason(cycle, executive):
    _finish_steps(cycle, upto=2)
    with pytest.raises(StepsNotDone, match="Steps 3, 4 are not done"):
        cycle_approve(cycle=cycle, user=executive)
    approved = cycle_approve(cycle=cycle, user=executive, override_reason="Finance is late")
    assert approved.approval_override_reason == "Finance is late"


def test_an_approved_cycle_cannot_be_approved_again(cycle, executive):
    _finish_steps(cycle)
    cycle_approve(cycle=cycle, user=executive)
    with pytest.raises(FrozenCycleError):
        cycle_approve(cycle=cycle, user=executive)
