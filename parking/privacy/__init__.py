"""A person's rights over what the service stores about them (China's PIPL): the export of it
all (`export`), and the erasure of the account (`erasure`). Retention lives in the tide
(`parking.tide.retention`), masking in `parking.masking`."""
