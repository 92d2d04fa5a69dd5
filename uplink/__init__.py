"""Files to the provincial platform: the dialects and the standard files from the model and
the live state (``files.py``), the live records — personnel, statistics, abnormal records
(``live.py``), key equipment (MT/T 1201.2, ``equipment.py``), the gas-geology table
(``gas.py``), SM2/SM3/SM4 (``security.py``), the durable outbox with its SFTP and HTTPS
destinations (``outbox.py``) and the service that runs them in the twin (``service.py``).
docs/uplink.md.
"""

from .files import Dialect, UplinkError, export_once
from .outbox import Outbox
from .service import UplinkService
from scene import lazy_exports

__all__ = ["Dialect", "UplinkError", "export_once", "Outbox", "UplinkService", "DEFINITIONS",
           "REALTIME", "STANDARD", "hold_back", "write_atomic", "GasExportError", "GasFormat",
           "check_gas", "gas_records", "render_gas", "LiveRecords", "SecurityError", "load_key",
           "load_sm2_key"]

#: What other rooms use from inside this one, loaded when first asked for (so importing
#: the room stays cheap): name -> the module that defines it.
_LAZY = {
    "DEFINITIONS": "files",
    "REALTIME": "files",
    "STANDARD": "files",
    "hold_back": "files",
    "write_atomic": "files",
    "GasExportError": "gas",
    "GasFormat": "gas",
    "check_gas": "gas",
    "gas_records": "gas",
    "render_gas": "gas",
    "LiveRecords": "live",
    "SecurityError": "security",
    "load_key": "security",
    "load_sm2_key": "security",
}

__getattr__ = lazy_exports(__name__, _LAZY)
