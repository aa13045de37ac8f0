"""Claude Desktop as a client: where its files are (locations), how they are read (library), which model names it
accepts (models), how the connection is written and undone (plan), exported for MDM (mdm) and verified (verify)."""

from .library import (
    DesktopConnection,
    DesktopLibrary,
    DesktopModel,
    LibraryEntry,
    load_library,
    read_connection,
)
from .locations import DesktopLocations, desktop_locations, os_family
from .models import (
    DesktopModelRejected,
    desktop_models,
    desktop_rejects,
    nearest_valid_model,
    tiers_from_models,
)
from .plan import (
    OUR_ENTRY_ID,
    DesktopPlan,
    DesktopSaveResult,
    DesktopValues,
    masked_diff,
    plan_desktop_apply,
    plan_desktop_remove,
    save_desktop_plan,
)

__all__ = [
    "OUR_ENTRY_ID", "DesktopConnection", "DesktopLibrary", "DesktopLocations", "DesktopModel", "DesktopModelRejected",
    "DesktopPlan", "DesktopSaveResult", "DesktopValues", "LibraryEntry", "desktop_locations", "desktop_models",
    "desktop_rejects", "load_library", "masked_diff", "nearest_valid_model", "os_family", "plan_desktop_apply",
    "plan_desktop_remove", "read_connection", "save_desktop_plan", "tiers_from_models",
]
