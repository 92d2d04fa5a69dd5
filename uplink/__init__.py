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

__all__ = ["Dialect", "UplinkError", "export_once", "Outbox", "UplinkService"]
