"""CDK constructs of the Comeback stack, one per concern, composed in `infra.stack`.

Table keys, queue limits, routes and environment variable names come from the shared
`comeback` package (the same modules the Lambdas and the local runner use), so it is put on
the path here for runs that did not install it.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMON_SITE_DIR = REPO_ROOT / "layers" / "common" / "python"

if str(COMMON_SITE_DIR) not in sys.path:
    sys.path.append(str(COMMON_SITE_DIR))
