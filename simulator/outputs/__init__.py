"""What a person reads: results folders written and read back, charts (matplotlib lives only here), the HTML
report, the Excel workbook, the scenario in plain words and the number formats of tables."""

from .folders import *  # noqa: F403
from .folders import __all__ as __all__
