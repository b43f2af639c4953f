"""Manager scope now lives with access (parking.auth.access); this name stays for the pages that
import it."""

from parking.auth.access import managed_garage as managed_garage
