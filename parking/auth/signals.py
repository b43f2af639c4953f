"""What happened to an account, for the layers above to act on (the notifications tell the person)
without the sign-in code knowing them: blinker signals, sent inside the unit of work."""

from __future__ import annotations

from blinker import Namespace

_account = Namespace()

#: sender: the User; kwargs: until (aware datetime), timezone (str), now.
locked_out = _account.signal("locked-out")
#: sender: the User the code is for; kwargs: now. Never the code.
reset_code_issued = _account.signal("reset-code-issued")
