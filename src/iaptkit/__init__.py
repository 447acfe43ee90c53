"""iaptkit: NHS Talking Therapies (IAPT v2.x) measures, disclosure control and releases.

The public API is listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

from iaptkit._version import __version__
from iaptkit.errors import IaptkitError

__all__ = ["IaptkitError", "__version__"]
