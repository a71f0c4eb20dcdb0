"""The scheduling admin: schedules (with the trigger workbench) and their run history."""

from scheduling.admin.runs import ScheduleRunAdmin
from scheduling.admin.schedules import ScheduleAdmin

__all__ = ["ScheduleAdmin", "ScheduleRunAdmin"]
