"""Deprecated alias (one release): the synthetic-log fixture moved to `tests/synthetic_logs.py`.

It is a fixture of the tests and the report benchmark, so it lives beside them and is no
longer installed. From a checkout (editable install) the names still resolve, with a
warning; from an installed wheel, run the code from a checkout of the repository.
"""

from utility_gap.analysis._moved import forward_to_file

__getattr__ = forward_to_file(__name__, "tests/synthetic_logs.py")
