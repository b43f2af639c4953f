"""What a window is: the garage and its rules, its templates and nights (the models), the garage's
local day and booking horizon, the night's instants, and the lock that serialises a night's
writers. Everything above books, plans, changes or shows windows; this package only defines them."""
