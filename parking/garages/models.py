"""The garage models live in parking.windows.models (what a window is sits below the bookings);
this name stays for the pages that import it."""

from parking.windows.models import Garage as Garage
from parking.windows.models import TemplateMode as TemplateMode
from parking.windows.models import Window as Window
from parking.windows.models import WindowState as WindowState
from parking.windows.models import WindowTemplate as WindowTemplate
from parking.windows.models import runs_on as runs_on
