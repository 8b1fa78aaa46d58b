"""A supporter's submission, from the form to queued letters:
validation, submit, confirm, consent, own mail."""
