"""Network studies: the site package format, disclosure control (small-cell and
complementary suppression) and the combination of packages from several sites.

Public API::

    from myositis.network import write_site_package, read_site_package, suppress
    from myositis.network.combine import combine_packages   # pools with myositis.evidence
"""

from myositis.network.disclosure import DEFAULT_THRESHOLD, suppress
from myositis.network.packages import SitePackage, read_site_package, write_site_package

__all__ = [
    "DEFAULT_THRESHOLD",
    "SitePackage",
    "read_site_package",
    "suppress",
    "write_site_package",
]
