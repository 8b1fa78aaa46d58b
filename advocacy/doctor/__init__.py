"""The going-live check (`advocacy doctor`): the sender's domain in DNS (domain.py) and the
relay (relay.py), each check saying ok, warn or fail and, in plain words, what to fix."""
