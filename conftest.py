"""pytest over the whole repository: no notebook trains or evaluates anything.

`pytest --nbval` re-executes the committed notebooks in notebooks/; their kernels inherit
ARTRM_STORED_ONLY=1, so every chapter renders the stored runs and names a missing one instead of
training it. The tests under tests/ unset it (their autouse fixture), since they train tiny runs
in a temporary results folder.
"""

import os

os.environ["ARTRM_STORED_ONLY"] = "1"
